"""The synthetic web crawl: domains, URL paths and pages of several kinds, each with its true kind.

    from dsmath_lib.synth.crawl import make_crawl, MATH_KINDS
    crawl = make_crawl(n_pages=2_000, seed=0, planted_texts=[p.question for p in test_problems])
    crawl.web_pages()      # what the miner sees: WebPage(url, text, metadata) with no label
    crawl.labels()         # {url: kind}: hidden from the miner, read by metrics and the annotation oracle
    crawl.seed_pages()     # the OpenWebMath-like seed: clean exposition from the seed domains

It stands in for Common Crawl in §2.1 of the paper (PAPER.md). The kinds:
- `exposition`: clean math lessons with worked examples, LaTeX inline (the seed is drawn from these);
- `math_forum`: math threads under /questions/math/ of mixed forums whose other paths are cooking,
  travel, ... threads (`forum_other`). They are written in the forum's casual style, not the seed's, so
  a seed-trained classifier scores most of them low: this is what domain discovery and URL-path
  annotation recover in later iterations. A share `tutor_reply_share` of them (0.4 unless set; params
  key mining.tutor_reply_share) carries a tutor's reply in the seed's style, which the first classifier
  does find: that share decides whether a forum's collected share passes the domain threshold;
- `numeric`: sports scores, price lists, weather: numbers without mathematics;
- `arxiv`: LaTeX-heavy paper-like pages (theorem/proof environments);
- `code`: programming pages; `prose`: general text (also the about/news pages of math sites);
- `planted`: exact copies and light paraphrases of benchmark texts passed in (`planted_texts`), inside
  a homework-help page: what decontamination must remove.
Exact duplicates (same text, new URL, sometimes the same URL again) and near-duplicates (a few words
changed) of random pages are added on top, keeping the original's kind.

Departures from the paper's world: math content comes from a handful of templates of its own (linear
equations, fractions, percentages, areas, gcd, multi-step word problems), so the classifier's task is
far easier than on real pages; arXiv-like pages count as not math here (the paper's target is web math
and it studies arXiv separately, Table 8). Everything is drawn from one `random.Random(seed)`: the same
arguments give the same crawl, byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import urlsplit

from dsmath_lib.webdata import WebPage

KINDS = ("exposition", "math_forum", "forum_other", "numeric", "arxiv", "code", "prose", "planted")
MATH_KINDS = frozenset({"exposition", "math_forum", "planted"})  # what the miner should collect

# share of the crawl's original pages by kind (planted pages and duplicates come on top of / inside it)
KIND_SHARES = {
    "exposition": 0.12,
    "math_forum": 0.10,
    "forum_other": 0.20,
    "numeric": 0.15,
    "arxiv": 0.06,
    "code": 0.10,
    "prose": 0.27,
}
PAGES_PER_DOMAIN = 120  # a site holds this many pages on average; small crawls still get 2 per kind
FORUM_TOPICS = ("cooking", "travel", "gardening", "cars")

NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena")
THINGS = ("apples", "marbles", "books", "pencils", "stickers", "cookies", "coins", "cards", "shells")
FILLER = (
    "the", "a", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "it", "at", "by", "this",
    "that", "from", "we", "they", "about", "after", "before", "more", "some", "very", "just", "also",
)
PROSE_WORDS = (
    "river", "village", "history", "market", "summer", "music", "garden", "castle", "journey", "family",
    "festival", "museum", "weather", "morning", "story", "painting", "forest", "harbor", "library", "bridge",
    "season", "tradition", "island", "mountain", "coffee", "train", "letter", "window", "friend", "city",
)
COOK_WORDS = ("flour", "butter", "oven", "sugar", "dough", "sauce", "garlic", "onion", "pan", "recipe", "salt")
TRAVEL_WORDS = ("flight", "hotel", "visa", "train", "luggage", "airport", "ticket", "beach", "hostel", "map")
GARDEN_WORDS = ("tomato", "soil", "compost", "seeds", "roses", "weeds", "water", "shade", "pots", "mulch")
CAR_WORDS = ("engine", "tires", "brakes", "oil", "battery", "clutch", "gearbox", "dashboard", "mileage")
TOPIC_WORDS = {"cooking": COOK_WORDS, "travel": TRAVEL_WORDS, "gardening": GARDEN_WORDS, "cars": CAR_WORDS}
TEAMS = ("Lions", "Hawks", "Rovers", "United", "Comets", "Rangers", "Tigers", "Wolves", "Giants", "Stars")
PRODUCTS = ("kettle", "lamp", "backpack", "headphones", "blender", "jacket", "umbrella", "mug", "chair")


@dataclass(frozen=True)
class CrawlPage:
    """One crawled page with its hidden true kind. `meta` carries provenance (duplicate_of, planted, ...)."""

    url: str
    text: str
    kind: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def domain(self) -> str:
        return urlsplit(self.url).netloc


@dataclass
class Crawl:
    """A generated crawl: its pages in crawl order and the URLs of the seed (OpenWebMath-like) pages."""

    pages: list[CrawlPage]
    seed_urls: list[str]
    seed: int

    def web_pages(self) -> list[WebPage]:
        """The pages as a reader would give them: url and text, no label."""
        return [WebPage(url=p.url, text=p.text) for p in self.pages]

    def labels(self) -> dict[str, str]:
        """{url: kind}. A URL seen twice carries the same text, hence the same kind."""
        return {p.url: p.kind for p in self.pages}

    def seed_pages(self) -> list[WebPage]:
        wanted = set(self.seed_urls)
        seen: set[str] = set()
        out = []
        for p in self.pages:
            if p.url in wanted and p.url not in seen:
                seen.add(p.url)
                out.append(WebPage(url=p.url, text=p.text))
        return out

    def kind_counts(self) -> dict[str, int]:
        counts = {k: 0 for k in KINDS}
        for p in self.pages:
            counts[p.kind] += 1
        return counts


# ---------------------------------------------------------------------------------------- math content
def math_item(rng: random.Random) -> tuple[str, list[str], str]:
    """One worked problem: (statement with LaTeX, solution steps, answer), from a random template.

    >>> statement, steps, answer = math_item(random.Random(1))
    >>> isinstance(statement, str) and len(steps) >= 2 and answer != ""
    True
    """
    kind = rng.randrange(6)
    if kind == 0:
        a, x, b = rng.randint(2, 9), rng.randint(1, 20), rng.randint(1, 30)
        c = a * x + b
        return (f"Solve $ {a}x + {b} = {c} $ for $x$.",
                [f"Subtract {b} from both sides: $ {a}x = {c - b} $.", f"Divide both sides by {a}: $ x = {x} $."],
                str(x))
    if kind == 1:
        p, q, r, s = rng.randint(1, 5), rng.randint(2, 9), rng.randint(1, 5), rng.randint(2, 9)
        num, den = p * s + r * q, q * s
        return (f"Compute $ \\frac{{{p}}}{{{q}}} + \\frac{{{r}}}{{{s}}} $.",
                [f"Use the common denominator $ {q} \\cdot {s} = {den} $.",
                 f"The numerator is $ {p} \\cdot {s} + {r} \\cdot {q} = {num} $.",
                 f"So the sum equals $ \\frac{{{num}}}{{{den}}} $."], f"\\frac{{{num}}}{{{den}}}")
    if kind == 2:
        pct, base = rng.choice((10, 20, 25, 50, 75)), rng.randint(2, 40) * 4
        return (f"What is ${pct}\\%$ of ${base}$?",
                [f"Write ${pct}\\%$ as the fraction $ \\frac{{{pct}}}{{100}} $.",
                 f"Multiply: $ \\frac{{{pct}}}{{100}} \\times {base} = {pct * base // 100} $."], str(pct * base // 100))
    if kind == 3:
        w, h = rng.randint(2, 30), rng.randint(2, 30)
        return (f"A rectangle has width ${w}$ and height ${h}$. Find its area $A$.",
                ["The area of a rectangle is $ A = w \\cdot h $.", f"Substitute: $ A = {w} \\cdot {h} = {w * h} $."],
                str(w * h))
    if kind == 4:
        g, m, n = rng.randint(2, 12), rng.choice((2, 3, 5, 7)), rng.choice((4, 9, 11, 13))
        return (f"Find $ \\gcd({g * m}, {g * n}) $.",
                [f"Factor: $ {g * m} = {g} \\cdot {m} $ and $ {g * n} = {g} \\cdot {n} $.",
                 f"Since $ \\gcd({m}, {n}) = 1 $, the greatest common divisor is ${g}$."], str(g))
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    a, b, c = rng.randint(2, 9), rng.randint(5, 30), rng.randint(1, 20)
    return (f"{name} has {a} boxes with {b} {thing} each and gives away {c} {thing}. How many are left?",
            [f"First find the total: $ {a} \\times {b} = {a * b} $.", f"Then subtract: $ {a * b} - {c} = {a * b - c} $."],
            str(a * b - c))


def casual_math(rng: random.Random) -> tuple[str, str]:
    """A math question and answer as a forum user writes them: no LaTeX, lower case, chatty.

    >>> q, a = casual_math(random.Random(0))
    >>> "$" in q + a
    False
    """
    name, thing = rng.choice(NAMES).lower(), rng.choice(THINGS)
    a, b, c = rng.randint(2, 9), rng.randint(5, 30), rng.randint(1, 20)
    choice = rng.randrange(3)
    if choice == 0:
        q = f"{name} has {a} bags of {thing} with {b} in each bag and loses {c}, how many does {name} have now??"
        ans = f"just do {a} times {b} which is {a * b} then minus {c} so {a * b - c}"
    elif choice == 1:
        x, k = rng.randint(1, 20), rng.randint(2, 9)
        q = f"if {k} times some number plus {c} makes {k * x + c} what is the number? i keep getting it wrong"
        ans = f"take away {c} first you get {k * x}, then split it by {k} and its {x}. check it {k}*{x}+{c}={k * x + c}"
    else:
        q = f"whats {b} percent of {a * 100}? my calculator is dead lol"
        ans = f"{b} percent means {b} out of 100 so its {b} times {a} = {a * b}"
    return q, ans


# ------------------------------------------------------------------------------------ page templates
def _words(rng: random.Random, vocab: Sequence[str], n: int) -> str:
    return " ".join(rng.choice(vocab) if rng.random() < 0.45 else rng.choice(FILLER) for _ in range(n))


def _sentences(rng: random.Random, vocab: Sequence[str], n: int) -> str:
    return " ".join(_words(rng, vocab, rng.randint(8, 16)).capitalize() + "." for _ in range(n))


def exposition_page(rng: random.Random, topic: str) -> str:
    lines = [f"Lesson: {topic} with worked examples",
             f"In this lesson we study {topic}. Read the definition, then follow each example step by step."]
    for i in range(1, rng.randint(2, 4) + 1):
        statement, steps, answer = math_item(rng)
        lines.append(f"Example {i}. {statement}")
        lines.append("Solution. " + " ".join(steps) + f" Therefore the answer is ${answer}$.")
    lines.append("Exercise. Check each solution by substituting the answer back into the problem.")
    return "\n".join(lines)


def forum_header(rng: random.Random, site: str, topic: str) -> list[str]:
    return [f"{site} forum > questions > {topic}", f"posted by {rng.choice(NAMES).lower()}{rng.randint(1, 999)}"
            f" {rng.randint(1, 23)} hours ago | {rng.randint(0, 40)} replies | {rng.randint(0, 300)} views"]


def forum_footer(rng: random.Random) -> str:
    return f"upvote {rng.randint(0, 50)} | share | report | reply | login to answer | {rng.randint(1, 9)} users online"


def math_forum_page(rng: random.Random, site: str, tutor_share: float = 0.4) -> str:
    """A math thread: a casual question and casual replies; a `tutor_share` of them get a tutor's answer in
    the seed's style (what a seed-trained classifier can recognise)."""
    q, ans = casual_math(rng)
    lines = forum_header(rng, site, "math") + [f"ok so {q} thanks in advance guys"]
    lines.append(f"reply from {rng.choice(NAMES).lower()}{rng.randint(1, 99)}: {ans}")
    if rng.random() < tutor_share:  # these threads are what the first classifier finds on a forum
        statement, steps, answer = math_item(rng)
        lines.append(f"reply from tutor: Similar example. {statement} Solution. {' '.join(steps)} "
                     f"Therefore the answer is ${answer}$.")
    lines.append(f"reply from {rng.choice(NAMES).lower()}: thanks that helped a lot " + _words(rng, FILLER, 6))
    lines.append(forum_footer(rng))
    return "\n".join(lines)


def forum_other_page(rng: random.Random, site: str, topic: str) -> str:
    vocab = TOPIC_WORDS[topic]
    n = rng.randint(2, 40)
    lines = forum_header(rng, site, topic)
    lines.append(f"ok so {_words(rng, vocab, rng.randint(10, 20))} about {n} minutes or {n * 2} km?? thanks in advance guys")
    for _ in range(rng.randint(1, 3)):
        lines.append(f"reply from {rng.choice(NAMES).lower()}{rng.randint(1, 99)}: {_words(rng, vocab, rng.randint(8, 24))}"
                     f" {rng.randint(1, 12)} times")
    lines.append(forum_footer(rng))
    return "\n".join(lines)


def numeric_page(rng: random.Random) -> str:
    """Numbers without mathematics: results tables, price lists or a weather report."""
    style = rng.randrange(3)
    if style == 0:
        lines = [f"Match results, week {rng.randint(1, 38)}"]
        for _ in range(rng.randint(4, 8)):
            a, b = rng.sample(TEAMS, 2)
            lines.append(f"{a} {rng.randint(0, 120)} - {rng.randint(0, 120)} {b} (attendance {rng.randint(1, 60)},{rng.randint(100, 999)})")
    elif style == 1:
        lines = ["Today's deals, prices include tax"]
        for _ in range(rng.randint(4, 8)):
            lines.append(f"{rng.choice(PRODUCTS)} ${rng.randint(3, 300)}.{rng.randint(0, 99):02d} was "
                         f"${rng.randint(5, 400)}.99 save {rng.randint(5, 60)}% ships in {rng.randint(1, 9)} days")
    else:
        lines = [f"Weather for {rng.choice(PROSE_WORDS)} valley"]
        for d in ("Mon", "Tue", "Wed", "Thu", "Fri"):
            lines.append(f"{d} high {rng.randint(5, 35)} low {rng.randint(-5, 20)} rain {rng.randint(0, 100)}% wind {rng.randint(0, 60)} km/h")
    return "\n".join(lines)


ARXIV_WORDS = ("manifold", "operator", "spectrum", "measure", "lemma", "bound", "estimate", "invariant", "sheaf",
               "martingale", "kernel", "norm", "compact", "ergodic", "functor", "asymptotic", "regularity")
CODE_NAMES = ("items", "rows", "nodes", "users", "events", "tokens", "files", "records", "pixels", "edges")
CODE_VERBS = ("parse", "load", "render", "merge", "fetch", "filter", "group", "sort", "cache", "validate")


def arxiv_page(rng: random.Random) -> str:
    n, sym = rng.randint(2, 9), rng.choice(("H", "M", "F", "G", "X"))
    lines = [f"Abstract. {_sentences(rng, ARXIV_WORDS, 2)} We prove a sharp bound for $\\mathcal{{{sym}}}_{{{n}}}$.",
             f"\\section{{Introduction}} Let $(X, \\mu)$ be a probability space. {_sentences(rng, ARXIV_WORDS, 2)}"]
    for _ in range(rng.randint(1, 3)):
        env = rng.choice(("theorem", "lemma", "proposition"))
        lines.append(f"\\begin{{{env}}} For every $\\epsilon > 0$ there is $C_{{\\epsilon}}$ with "
                     f"$\\| f \\|_{{L^{{{rng.randint(1, 9)}}}}} \\leq C_{{\\epsilon}} \\| \\nabla^{{{rng.randint(1, 4)}}} f \\|$. "
                     f"{_sentences(rng, ARXIV_WORDS, 1)} \\end{{{env}}}")
        lines.append(f"\\begin{{proof}} {_sentences(rng, ARXIV_WORDS, 2)} \\end{{proof}}")
    lines.append(f"References [1] {rng.choice(NAMES)} et al., Ann. Math. {rng.randint(1950, 2024)}.")
    return "\n".join(lines)


def code_page(rng: random.Random) -> str:
    lines = [f"How to {rng.choice(CODE_VERBS)} {rng.choice(CODE_NAMES)} in {rng.choice(('Python', 'JavaScript'))}"]
    for _ in range(rng.randint(2, 4)):
        verb, var, arg = rng.choice(CODE_VERBS), rng.choice(CODE_NAMES), rng.choice(("path", "data", "conn", "cfg"))
        body = rng.sample([f"    {var} = []", f"    with open({arg}) as f:", f"    for x in {arg}:",
                           f"        {var}.append(x.strip().split('{rng.choice(',;|')}'))", f"    log.info('{verb} %d', len({var}))",
                           f"    if not {var}: raise ValueError('{verb}: empty {arg}')", f"    {var}.sort(key=len)",
                           f"    cache['{var}'] = {var}"], rng.randint(3, 6))
        lines += [f"def {verb}_{var}({arg}, limit={rng.randint(1, 999)}):"] + body + [f"    return {var}"]
    lines.append(f"# tested with {rng.choice(('python', 'node'))} {rng.randint(6, 22)}; " + _words(rng, PROSE_WORDS, 8))
    return "\n".join(lines)


def prose_page(rng: random.Random) -> str:
    return "\n".join(_sentences(rng, PROSE_WORDS, rng.randint(2, 4)) for _ in range(rng.randint(2, 4)))


def paraphrase(text: str, rng: random.Random) -> str:
    """A light paraphrase: a new opening and one word dropped near the start; the rest stays verbatim.

    >>> paraphrase("Tom has 3 apples and buys 4 more apples at the shop today.", random.Random(0)).endswith("today.")
    True
    """
    words = text.split()
    if len(words) > 4:
        del words[rng.randrange(1, 4)]
    return rng.choice(("Here is a question:", "Try this one.", "Homework problem:")) + " " + " ".join(words)


PLANTED_LINE = 2  # the line of a planted page that holds the benchmark text (decontamination must remove it)


def planted_page(rng: random.Random, text: str, light_paraphrase: bool) -> str:
    body = paraphrase(text, rng) if light_paraphrase else text
    return "\n".join(["Homework help, free answers", f"Question {rng.randint(1, 9999)}:", body,
                      "Answers are checked by volunteers. " + _sentences(rng, PROSE_WORDS, 1)])


# ------------------------------------------------------------------------------------------- the crawl
def _domains(kind: str, count: int) -> list[str]:
    stem = {"exposition": "mathnotes", "forum": "forum", "numeric": "scores-and-deals", "arxiv": "preprints",
            "code": "codehub", "prose": "blog"}[kind]
    return [f"{stem}{i}.example" for i in range(count)]


def _make_original(kind: str, i: int, rng: random.Random, n_kind: int, tutor_share: float = 0.4) -> CrawlPage:
    """The i-th page of a kind: its domain, path and text."""
    n_domains = max(2, round(n_kind / PAGES_PER_DOMAIN))
    if kind in ("math_forum", "forum_other"):
        site = _domains("forum", n_domains)[rng.randrange(n_domains)]
        topic = "math" if kind == "math_forum" else rng.choice(FORUM_TOPICS)
        text = math_forum_page(rng, site, tutor_share) if kind == "math_forum" else forum_other_page(rng, site, topic)
        return CrawlPage(f"https://{site}/questions/{topic}/{i}-thread", text, kind)
    site = _domains(kind, n_domains)[rng.randrange(n_domains)]
    makers: dict[str, tuple[str, Callable[[], str]]] = {
        "exposition": ("lessons/" + rng.choice(("algebra", "arithmetic", "geometry", "number-theory")),
                       lambda: exposition_page(rng, rng.choice(("linear equations", "fractions", "percentages", "areas")))),
        "numeric": (rng.choice(("results", "deals", "weather")), lambda: numeric_page(rng)),
        "arxiv": ("abs/" + rng.choice(("math.AP", "math.PR", "math.AG")), lambda: arxiv_page(rng)),
        "code": ("snippets/python", lambda: code_page(rng)),
        "prose": (rng.choice(("posts", "travel", "stories")), lambda: prose_page(rng)),
    }
    path, make = makers[kind]
    return CrawlPage(f"https://{site}/{path}/{i}", make(), kind)


def _math_site_extras(rng: random.Random, n: int, n_exposition: int) -> list[CrawlPage]:
    """Non-math pages (about, news) on the math sites: a domain is not all one path."""
    n_domains = max(2, round(n_exposition / PAGES_PER_DOMAIN))
    sites = _domains("exposition", n_domains)
    return [CrawlPage(f"https://{rng.choice(sites)}/{rng.choice(('about', 'news'))}/{i}", prose_page(rng), "prose")
            for i in range(n)]


def _near_duplicate(page: CrawlPage, rng: random.Random, j: int) -> CrawlPage:
    """The same page at a mirror URL with one or two words changed (5-gram Jaccard stays above ~0.8)."""
    words = page.text.split(" ")
    for _ in range(rng.randint(1, 2)):
        words[rng.randrange(len(words))] = rng.choice(FILLER)
    return CrawlPage(_mirror_url(page, j), " ".join(words), page.kind, {"near_duplicate_of": page.url})


def _mirror_url(page: CrawlPage, j: int) -> str:
    """A mirror site keeps the original's host and path under its own: mirror3.example/forum0.example/questions/..."""
    return f"https://mirror{j % 7}.example/{page.url.split('://', 1)[1]}"


def make_crawl(n_pages: int, seed: int = 0, planted_texts: Sequence[str] = (), seed_domain_share: float = 0.5,
               exact_dup_share: float = 0.04, near_dup_share: float = 0.04, tutor_reply_share: float = 0.4) -> Crawl:
    """Generate a crawl of about `n_pages` pages (+ 2 planted pages per planted text), in a shuffled order.

    planted_texts: benchmark texts to plant; each appears once verbatim and once lightly paraphrased.
    seed_domain_share: share of the exposition domains whose lessons form the seed (OpenWebMath-like).
    exact_dup_share / near_dup_share: duplicates added, as shares of n_pages.
    tutor_reply_share: share of math forum threads that carry a tutor's reply in the seed's textbook style.
        A knob of the world: it sets how many forum math pages the seed-trained classifier can recognise,
        hence whether a forum's collected share passes the domain threshold and discovery has work to do.

    >>> crawl = make_crawl(300, seed=1)
    >>> crawl.pages == make_crawl(300, seed=1).pages
    True
    """
    rng = random.Random(seed)
    n_original = round(n_pages * (1 - exact_dup_share - near_dup_share))
    counts = {kind: round(share * n_original) for kind, share in KIND_SHARES.items()}
    n_extras = max(2, counts["prose"] // 10)  # about/news pages on math sites, taken from the prose share
    counts["prose"] -= n_extras
    if not 0.0 <= tutor_reply_share <= 1.0:
        raise ValueError(f"make_crawl: tutor_reply_share = {tutor_reply_share} must be within 0..1")
    pages = [_make_original(kind, i, rng, counts[kind], tutor_reply_share) for kind, n in counts.items() for i in range(n)]
    pages += _math_site_extras(rng, n_extras, counts["exposition"])
    for k, text in enumerate(planted_texts):
        for light in (False, True):
            page_text = planted_page(rng, text, light)
            meta = {"planted": k, "paraphrase": light, "planted_line": page_text.split("\n")[PLANTED_LINE]}
            pages.append(CrawlPage(f"https://homework{k % 3}.example/q/{2 * k + light}", page_text, "planted", meta))
    originals = list(pages)
    for j in range(round(n_pages * exact_dup_share)):
        src = rng.choice(originals)
        url = src.url if j % 3 == 0 else _mirror_url(src, j) + "/"  # 1 in 3: the same URL crawled again
        pages.append(CrawlPage(url, src.text, src.kind, {"duplicate_of": src.url}))
    pages += [_near_duplicate(rng.choice(originals), rng, j) for j in range(round(n_pages * near_dup_share))]
    rng.shuffle(pages)
    return Crawl(pages=pages, seed_urls=_seed_urls(originals, seed_domain_share), seed=seed)


def _seed_urls(pages: list[CrawlPage], share: float) -> list[str]:
    domains = sorted({p.domain for p in pages if p.kind == "exposition"})
    chosen = set(domains[: max(1, round(share * len(domains)))])
    return [p.url for p in pages if p.kind == "exposition" and p.domain in chosen]
