"""The synthetic web crawl: domains, URL paths and pages of several kinds, each with its true kind.

    from dsmath_lib.synth.crawl import make_crawl, MATH_KINDS
    crawl = make_crawl(n_pages=2_000, seed=0, planted_texts=[p.question for p in test_problems[:20]],
                       test_questions=[p.question for p in test_problems])
    crawl.web_pages()      # what the miner sees: WebPage(url, text, metadata) with no label
    crawl.labels()         # {url: kind}: hidden from the miner, read by metrics and the annotation oracle
    crawl.seed_pages()     # the OpenWebMath-like seed: clean exposition from the seed domains

It stands in for Common Crawl in §2.1 of the paper (docs/PAPER.md). The kinds:
- `exposition`: clean math lessons, each on one family of the world's problems, with 2-4 worked examples
  (easiest first) laid out as a textbook: "Example i. <question>", the solution one step per line as
  the benchmarks write it, "Therefore the answer is $<answer>$." (the seed is drawn from these). A share
  `worksheet_share` of them (params key mining.worksheet_share; 0 unless set) is laid out as a worksheet
  instead: "Question: <question>" / "Answer: <solution>", the solution ending in its own answer line, the
  layout the benchmarks' few-shot prompts use (as GSM8K-style question/answer pages are common on the web);
- `math_forum`: math threads under /questions/math/ of mixed forums whose other paths are cooking,
  travel, ... threads (`forum_other`). A user asks a synth-gsm word problem in lower case without LaTeX
  and another answers with its equations in words ("50 plus 56 is 106, then ..."): the forum's casual
  style, not the seed's, so a seed-trained classifier scores most of them low: this is what domain
  discovery and URL-path annotation recover in later iterations. A share `tutor_reply_share` of them
  (0.4 unless set; params key mining.tutor_reply_share) carries a tutor's reply with two worked examples
  of any family in the seed's layout, which the first classifier does find: that share decides whether a
  forum's collected share passes the domain threshold;
- `numeric`: sports scores, price lists, weather: numbers without mathematics;
- `arxiv`: LaTeX-heavy paper-like pages (theorem/proof environments);
- `code`: programming pages; `prose`: general text (also the about/news pages of math sites);
- `planted`: exact copies and light paraphrases of benchmark texts passed in (`planted_texts`), inside
  a homework-help page: what decontamination must remove.
Exact duplicates (same text, new URL, sometimes the same URL again) and near-duplicates (a few words
changed) of random pages are added on top, keeping the original's kind.

Math content: every worked example and forum question is a problem of the world's own families
(synth-gsm's six word-problem scenarios, synth-math's algebra, fractions, number theory and counting;
dsmath_lib.synth.arithmetic and mathlike), half from each benchmark, at levels weighted 4:3:2:1:0.5 for
levels 1-5 (LEVEL_WEIGHTS), so math pages teach the kinds of problems the benchmarks test, as
OpenWebMath-like pages hold GSM8K- and MATH-like problems. None is a test problem: given the benchmarks'
`test_questions`, a candidate whose question overlaps one (overlap.py: exact match, a shared 10-gram of
words, or a whole short test question inside it; the rule the world's train split obeys) is redrawn,
and Crawl.stats counts draws and rejections (tiny scale, 20,000 pages, 1,000 test questions: 368 of
10,259 draws, 3.6%). Only the planted pages carry test questions.
What decontamination still removes from clean math pages (notebook 01's "clean segments removed by
mistake"; tiny scale, about 1,500 lines on 600 of the pool's 4,400 math pages): solution lines that
compute what a test solution computes ("6! = ... = 720": solutions are not checked, and the paper's rule
matches benchmark answers too), and a few questions whose LaTeX, split into letters and digits by
decontamination, shares a 10-gram that overlap.py's whole-formula words do not.

Departures from the paper's world: the math comes from the world's templated families, so the
classifier's task is far easier than on real pages, and a page's math is exactly the benchmarks' kind;
arXiv-like pages count as not math here (the paper's target is web math and it studies arXiv
separately, Table 8). Everything is drawn from one `random.Random(seed)`: the same arguments give the
same crawl, byte for byte.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import urlsplit

from dsmath_lib.config import WorldConfig
from dsmath_lib.problem import Problem
from dsmath_lib.synth import arithmetic, mathlike
from dsmath_lib.synth.overlap import OverlapIndex
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
    stats: dict[str, int] = field(default_factory=dict)  # worked examples drawn, and rejected for test overlap

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
# Worked examples are problems of the world's own families: synth-gsm's word problems and synth-math's
# algebra, fractions, number theory and counting. Levels lean to the easy end, as lessons and tutors do.
LEVEL_WEIGHTS = (4, 3, 2, 1, 0.5)  # levels 1..5 (higher ones take the last weight); only the world's levels are drawn
# family -> (URL path under lessons/, lesson title): four lesson paths per site, the synth-gsm families
# sharing the arithmetic one (the number of paths sets how much annotation budget the sites take)
LESSONS = {
    **{family: ("arithmetic", f"{family} word problems") for family in arithmetic.SCENARIOS},
    "algebra": ("algebra", "equations and expressions"),
    "fractions": ("fractions", "fractions"),
    "number_theory": ("number-theory", "remainders and divisors"),
    "counting": ("number-theory", "counting"),
}
MAX_REDRAWS = 1000  # candidates per worked example before a test set is declared to cover the families


def world_family(rng: random.Random) -> str:
    """A family name: synth-gsm or synth-math with equal odds, then one of its families.

    >>> world_family(random.Random(0)) in LESSONS
    True
    """
    families = arithmetic.SCENARIOS if rng.random() < 0.5 else mathlike.FAMILIES
    return rng.choice(list(families))


def world_problem(rng: random.Random, family: str | None = None, world: WorldConfig | None = None) -> Problem:
    """A problem of `family` (a random one when None) at a level drawn with LEVEL_WEIGHTS, generated with
    the world's difficulty knobs (WorldConfig defaults when `world` is None).

    >>> p = world_problem(random.Random(3), "fractions")
    >>> p.benchmark, p.subject, p.level in (1, 2, 3, 4, 5)
    ('synth-math', 'fractions', True)
    """
    world = world or WorldConfig()
    family = family or world_family(rng)
    if family in arithmetic.SCENARIOS:
        top, make = world.gsm_max_steps, arithmetic.SCENARIOS[family]
        args: tuple[int, ...] = (world.max_operand, world.gsm_max_steps)
    elif family in mathlike.FAMILIES:
        top, make, args = world.math_levels, mathlike.FAMILIES[family], (world.max_operand,)
    else:
        raise ValueError(f"world_problem: unknown family {family!r}; choose one of {', '.join(LESSONS)}")
    weights = [LEVEL_WEIGHTS[min(level, len(LEVEL_WEIGHTS)) - 1] for level in range(1, top + 1)]
    return make(rng, rng.choices(range(1, top + 1), weights)[0], *args)


def worked(problem: Problem) -> tuple[str, list[str], str]:
    """(statement, solution steps, answer): the solution's lines without its final answer line.

    >>> worked(Problem("i", "b", "Q?", "2 + 3 = 5\\nThe answer is 5.", "5", "numeric"))
    ('Q?', ['2 + 3 = 5'], '5')
    """
    return problem.question, problem.solution.split("\n")[:-1], problem.answer


def math_item(rng: random.Random, family: str | None = None, world: WorldConfig | None = None) -> tuple[str, list[str], str]:
    """One worked problem of the world's families: (statement, solution steps, answer).

    >>> statement, steps, answer = math_item(random.Random(1))
    >>> isinstance(statement, str) and len(steps) >= 1 and answer != ""
    True
    """
    return worked(world_problem(rng, family, world))


class ExampleSource:
    """Draws the crawl's worked examples and redraws any whose question overlaps a test question (exact
    match, a shared world.ngram-gram of words, or containing a whole short test question: overlap.py), so
    the math pages teach the benchmarks' kinds of problems but never their test problems. Counts both."""

    def __init__(self, test_questions: Sequence[str] = (), world: WorldConfig | None = None):
        self.world = world or WorldConfig()
        tests = [Problem(f"test question {i}", "", q, "", "", "numeric") for i, q in enumerate(test_questions)]
        self.index = OverlapIndex(tests, self.world.ngram)  # the world's own train/test rule (n = 10)
        self.drawn = self.rejected = 0

    def problem(self, rng: random.Random, family: str | None = None) -> Problem:
        """A world problem of `family` (random when None) that overlaps no test question.

        >>> test = world_problem(random.Random(5), "algebra").question
        >>> source = ExampleSource([test])
        >>> source.problem(random.Random(5), "algebra").question != test, source.drawn, source.rejected
        (True, 2, 1)
        """
        for _ in range(MAX_REDRAWS):
            p = world_problem(rng, family, self.world)
            self.drawn += 1
            if self.index.find(p.question) is None:
                return p
            self.rejected += 1
        raise RuntimeError(f"ExampleSource: {MAX_REDRAWS} {family or 'world'} problems in a row overlap a test "
                           f"question: the test set covers this family's problem space")


_EQUATION = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")  # every synth-gsm solution line holds one
_SPOKEN = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}


def _spoken(step: str) -> str:
    """A synth-gsm solution line as a forum user types it: its equation alone, operations in words.

    >>> _spoken("Lila has 50 + 56 = 106 cards.")
    '50 plus 56 is 106'
    """
    match = _EQUATION.search(step)
    if match is None:
        raise ValueError(f"casual_math: no equation in the synth-gsm solution line {step!r}")
    a, op, b, c = match.groups()
    return f"{a} {_SPOKEN[op]} {b} is {c}"


def casual_math(rng: random.Random, problem: Problem | None = None) -> tuple[str, str]:
    """A word problem of the world (synth-gsm) and its answer as a forum user writes them: no LaTeX, no
    dollar signs, lower case, chatty. `problem` defaults to a fresh synth-gsm problem.

    >>> q, a = casual_math(random.Random(0))
    >>> "$" in q + a, q == q.lower()
    (False, True)
    """
    problem = problem or world_problem(rng, rng.choice(list(arithmetic.SCENARIOS)))
    question, steps, answer = worked(problem)
    q = question.replace("$", "").lower().rstrip("?") + rng.choice(("??", "?? i keep getting it wrong", " ?"))
    opener = rng.choice(("just do it in steps:", "ok so", "easy,", "you go one step at a time,"))
    return q, f"{opener} {', then '.join(_spoken(s) for s in steps)} so its {answer}"


# ------------------------------------------------------------------------------------ page templates
def _words(rng: random.Random, vocab: Sequence[str], n: int) -> str:
    return " ".join(rng.choice(vocab) if rng.random() < 0.45 else rng.choice(FILLER) for _ in range(n))


def _sentences(rng: random.Random, vocab: Sequence[str], n: int) -> str:
    return " ".join(_words(rng, vocab, rng.randint(8, 16)).capitalize() + "." for _ in range(n))


def exposition_page(rng: random.Random, topic: str, draw: Callable[[random.Random], Problem] = world_problem,
                    worksheet: bool = False) -> str:
    """A lesson: 2-4 worked examples from `draw`, easiest first, each solution one step per line as the
    benchmarks write them, closed by the answer in the page's LaTeX. As a `worksheet`, the same examples
    (the same draws from `rng`) as "Question: ..." / "Answer: ..." pairs, each solution closed by its own
    answer line, a blank line between pairs.

    >>> page = exposition_page(random.Random(0), "sums", worksheet=True)
    >>> page.split("\\n")[2].startswith("Question: "), "\\nThe answer is " in page, "Example 1." in page
    (True, True, False)
    """
    problems = sorted((draw(rng) for _ in range(rng.randint(2, 4))), key=lambda p: p.level or 0)
    title = f"Worksheet: {topic}, questions with answers" if worksheet else f"Lesson: {topic} with worked examples"
    lines = [title,
             rng.choice((f"In this lesson we study {topic}. Read the definition, then follow each example step by step.",
                         f"We work through examples of {topic}, from the easiest to harder ones.",
                         f"These notes on {topic} show each step of the solution. Try each example first."))]
    for i, problem in enumerate(problems, start=1):
        statement, steps, answer = worked(problem)
        # the label is drawn in both layouts, so a page's later draws do not depend on its layout
        label = rng.choice(("Solution.", "Solution:", "Solution, step by step."))
        if worksheet:
            solution = problem.solution.strip()
            lines += [f"Question: {statement}", f"Answer: {solution}", ""]
        else:
            lines += [f"Example {i}. {statement}", label, *steps, f"Therefore the answer is ${answer}$."]
    lines.append(rng.choice(("Exercise. Check each solution by substituting the answer back into the problem.",
                             "Exercise. Change one number in each example and solve it again.")))
    return "\n".join(lines)


def forum_header(rng: random.Random, site: str, topic: str) -> list[str]:
    return [f"{site} forum > questions > {topic}", f"posted by {rng.choice(NAMES).lower()}{rng.randint(1, 999)}"
            f" {rng.randint(1, 23)} hours ago | {rng.randint(0, 40)} replies | {rng.randint(0, 300)} views"]


def forum_footer(rng: random.Random) -> str:
    return f"upvote {rng.randint(0, 50)} | share | report | reply | login to answer | {rng.randint(1, 9)} users online"


def math_forum_page(rng: random.Random, site: str, tutor_share: float = 0.4,
                    draw: Callable[[random.Random, str | None], Problem] = world_problem) -> str:
    """A math thread: a world word problem asked and answered casually; a `tutor_share` of them get a
    tutor's reply with two worked examples of any family in the seed's textbook layout (what a
    seed-trained classifier can recognise). `draw(rng, family)` gives the problems (None: any family)."""
    q, ans = casual_math(rng, draw(rng, rng.choice(list(arithmetic.SCENARIOS))))
    lines = forum_header(rng, site, "math") + [f"ok so {q} thanks in advance guys"]
    lines.append(f"reply from {rng.choice(NAMES).lower()}{rng.randint(1, 99)}: {ans}")
    if rng.random() < tutor_share:  # these threads are what the first classifier finds on a forum
        # two examples, not one: the reply must outweigh the thread's casual lines for the seed classifier
        lines.append("reply from tutor: Here are two worked examples, step by step.")
        for i in (1, 2):
            statement, steps, answer = worked(draw(rng, None))
            lines += [f"Example {i}. {statement}", "Solution.", *steps, f"Therefore the answer is ${answer}$."]
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


def _make_original(kind: str, i: int, rng: random.Random, n_kind: int, source: ExampleSource,
                   tutor_share: float = 0.4, worksheet: bool = False) -> CrawlPage:
    """The i-th page of a kind: its domain, path and text. Math pages take their problems from `source`;
    a lesson works through one family, under that family's lesson path (laid out as a worksheet if asked)."""
    n_domains = max(2, round(n_kind / PAGES_PER_DOMAIN))
    if kind in ("math_forum", "forum_other"):
        site = _domains("forum", n_domains)[rng.randrange(n_domains)]
        topic = "math" if kind == "math_forum" else rng.choice(FORUM_TOPICS)
        text = (math_forum_page(rng, site, tutor_share, source.problem) if kind == "math_forum"
                else forum_other_page(rng, site, topic))
        return CrawlPage(f"https://{site}/questions/{topic}/{i}-thread", text, kind)
    site = _domains(kind, n_domains)[rng.randrange(n_domains)]
    family = world_family(rng) if kind == "exposition" else ""
    makers: dict[str, tuple[str, Callable[[], str]]] = {
        "exposition": ("lessons/" + LESSONS[family][0] if family else "",
                       lambda: exposition_page(rng, LESSONS[family][1], lambda r: source.problem(r, family),
                                               worksheet)),
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
               exact_dup_share: float = 0.04, near_dup_share: float = 0.04, tutor_reply_share: float = 0.4,
               test_questions: Sequence[str] = (), world: WorldConfig | None = None,
               worksheet_share: float = 0.0) -> Crawl:
    """Generate a crawl of about `n_pages` pages (+ 2 planted pages per planted text), in a shuffled order.

    planted_texts: benchmark texts to plant; each appears once verbatim and once lightly paraphrased.
    seed_domain_share: share of the exposition domains whose lessons form the seed (OpenWebMath-like).
    exact_dup_share / near_dup_share: duplicates added, as shares of n_pages.
    tutor_reply_share: share of math forum threads that carry a tutor's reply in the seed's textbook style.
        A knob of the world: it sets how many forum math pages the seed-trained classifier can recognise,
        hence whether a forum's collected share passes the domain threshold and discovery has work to do.
    test_questions: the benchmarks' test questions; a worked example overlapping one (exact, a shared
        10-gram of words, or a whole short question inside it) is redrawn, so only planted pages carry them.
    world: the difficulty knobs (max_operand, gsm_max_steps, math_levels) of the worked examples' families;
        WorldConfig defaults when None. Its seed is not used: the crawl's problems come from `seed`.
    worksheet_share: share of the lessons laid out as question/answer worksheets. A knob of the world: the
        base models' few-shot prompt is in that layout, and a 1M-parameter model does not follow a layout
        it never saw from two shots. Which lessons it picks comes from a stream of its own, so every other
        draw of the crawl is the same for any share.

    >>> crawl = make_crawl(300, seed=1)
    >>> crawl.pages == make_crawl(300, seed=1).pages, crawl.stats["examples rejected"]
    (True, 0)
    """
    rng = random.Random(seed)
    n_original = round(n_pages * (1 - exact_dup_share - near_dup_share))
    counts = {kind: round(share * n_original) for kind, share in KIND_SHARES.items()}
    n_extras = max(2, counts["prose"] // 10)  # about/news pages on math sites, taken from the prose share
    counts["prose"] -= n_extras
    for name, share in (("tutor_reply_share", tutor_reply_share), ("worksheet_share", worksheet_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"make_crawl: {name} = {share} must be within 0..1")
    source = ExampleSource(test_questions, world)
    layout = random.Random(f"{seed}/worksheets")
    pages = [_make_original(kind, i, rng, counts[kind], source, tutor_reply_share,
                            kind == "exposition" and layout.random() < worksheet_share)
             for kind, n in counts.items() for i in range(n)]
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
    stats = {"examples drawn": source.drawn, "examples rejected": source.rejected}
    return Crawl(pages=pages, seed_urls=_seed_urls(originals, seed_domain_share), seed=seed, stats=stats)


def _seed_urls(pages: list[CrawlPage], share: float) -> list[str]:
    domains = sorted({p.domain for p in pages if p.kind == "exposition"})
    chosen = set(domains[: max(1, round(share * len(domains)))])
    return [p.url for p in pages if p.kind == "exposition" and p.domain in chosen]
