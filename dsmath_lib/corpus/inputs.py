"""What notebook 01_corpus_mining mines and what it leaves behind: the pool, seed and benchmark texts in,
the corpora (JSONL with token counts) out.

    from dsmath_lib.corpus import dedup_pool
    from dsmath_lib.corpus.inputs import build_corpora, load_inputs, run_mining, write_corpora
    inputs = load_inputs(params)            # pool pages, seed, true kinds (synth only), planted copies
    pool, _ = dedup_pool(inputs.pages)
    result = run_mining(inputs, pool, params.mining, artifacts / "mining", artifacts / "annotations")
    corpora = build_corpora(inputs, pool, result, rng_seed=params.seed)
    table = write_corpora(corpora, artifacts / "corpora")   # one row per corpus: pages, tokens, file

Sources (`mining.pool_source`):
- "synth" (smoke, tiny): the generated crawl (dsmath_lib.synth.crawl) with `planted_per_benchmark` test
  questions of each benchmark planted verbatim and lightly paraphrased; true kinds are known. Its math
  pages work problems of the world's own families (`params.world`'s knobs), none overlapping a test
  question of `mining.benchmarks`: only the planted pages carry test questions.
- "files" (gpu): WET / WARC / JSONL files by path or glob (`pool_files`, `seed_files`), read with
  dsmath_lib.webdata; no true kinds, so precision/recall are NaN and annotation is by people.
- "hub" (gpu): `hub_pages` pages streamed from `hub_pool` and `hub_seed` (the paper's seed: OpenWebMath).
Tokens are whitespace words (the miner's count), not BPE tokens as in the paper. The arXiv-like, code
and general-prose corpora are cut from the crawl by true kind (synth only); the paper takes them from
other sources (arXiv, GitHub, general text), not from its mining pool.
"""

from __future__ import annotations

import glob
import json
import logging
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from dsmath_lib import paths
from dsmath_lib.config import MiningConfig, Params
from dsmath_lib.corpus.annotation import HumanAnnotator, OracleAnnotator
from dsmath_lib.corpus.miner import MiningResult, mine, n_tokens
from dsmath_lib.webdata import WebPage, page_from_dict, read_pages

log = logging.getLogger(__name__)
# corpora that later notebooks read, from the true kinds of the synthetic crawl (notebook 03: Tables 6-8)
KIND_CORPORA = {"arxiv": "arxiv", "code": "code", "prose": "general"}


@dataclass
class MiningInputs:
    """The pages to mine and what measuring needs. `labels` and `planted` are empty for real data."""

    pages: list[WebPage]  # the raw crawl, duplicates included (dedup comes next)
    seed: list[WebPage]
    benchmark_texts: list[str]  # questions and solutions decontamination matches against
    labels: dict[str, str] | None = None  # {url: true kind}
    planted: dict[str, dict] = field(default_factory=dict)  # url -> planted_pages() record
    math_kinds: frozenset = frozenset()


def planted_questions(problems: Mapping[str, Sequence], per_benchmark: int) -> list[str]:
    """The first `per_benchmark` test questions of each benchmark, in benchmark order.

    >>> from types import SimpleNamespace as P
    >>> planted_questions({"a": [P(question="q1"), P(question="q2")], "b": [P(question="q3")]}, 1)
    ['q1', 'q3']
    """
    return [p.question for name in problems for p in list(problems[name])[:per_benchmark]]


def benchmark_texts(problems: Mapping[str, Sequence]) -> list[str]:
    """Every question and solution (the paper matches against benchmark texts, questions and answers)."""
    return [text for probs in problems.values() for p in probs for text in (p.question, p.solution) if text]


def planted_pages(pages: Sequence) -> dict[str, dict]:
    """url -> {"planted", "paraphrase", "line", "copy"} for the crawl's planted pages and their exact or near
    duplicates (the benchmark text is line `line` of the page: PLANTED_LINE unless a near duplicate's word
    change merged two lines).
    "paraphrase" is true when that line differs from the benchmark text: the crawl's light paraphrases and
    near duplicates whose word changes hit it.

    >>> from dsmath_lib.synth.crawl import make_crawl
    >>> meta = planted_pages(make_crawl(100, planted_texts=["one two three four five six"]).pages)
    >>> sorted((m["paraphrase"], m["line"], m["copy"]) for m in meta.values())[:2]
    [(False, 2, False), (True, 2, False)]
    """
    from dsmath_lib.synth.crawl import PLANTED_LINE

    originals = {p.url: p.meta for p in pages if "planted_line" in p.meta}
    out = {}
    for page in pages:
        source = page.meta.get("duplicate_of") or page.meta.get("near_duplicate_of") or page.url
        if source in originals and page.url not in out:
            meta = originals[source]
            line = _benchmark_line(page.text, meta["planted_line"], PLANTED_LINE)
            # a near duplicate may have a word of the benchmark line changed: then it is no exact copy
            altered = page.text.split("\n")[line] != meta["planted_line"]
            out[page.url] = {"planted": meta["planted"], "paraphrase": meta["paraphrase"] or altered, "line": line,
                             "copy": page.url != source}  # a re-crawl of the same URL is the page itself
    return out


def _benchmark_line(text: str, planted_line: str, default: int) -> int:
    """The line of `text` sharing most words with `planted_line` (`default` on ties): a near duplicate's
    word change can merge two lines, which shifts the planted line up.

    >>> _benchmark_line("a b\\nq r s\\nt", "q r x", 2)
    1
    """
    lines, target = text.split("\n"), set(planted_line.split())
    shared = [len(target & set(line.split())) for line in lines]
    best = max(shared)
    return default if default < len(lines) and shared[default] == best else shared.index(best)


def load_benchmarks(params: Params) -> dict:
    """{name: test problems} of `mining.benchmarks` (synth names use params.world; others the local copy)."""
    from dsmath_lib.data import load_benchmark

    return {name: load_benchmark(name, "test", world=params.world) for name in params.mining.benchmarks}


def load_inputs(params: Params) -> MiningInputs:
    """The pool, seed and benchmark texts of `params.mining.pool_source` (see module doc)."""
    cfg, problems = params.mining, load_benchmarks(params)
    if cfg.pool_source == "synth":
        from dsmath_lib.synth.crawl import MATH_KINDS, make_crawl

        crawl = make_crawl(cfg.crawl_pages, seed=params.world.seed, tutor_reply_share=cfg.tutor_reply_share,
                           worksheet_share=cfg.worksheet_share,
                           planted_texts=planted_questions(problems, cfg.planted_per_benchmark),
                           test_questions=[p.question for probs in problems.values() for p in probs],
                           world=params.world)
        planted = planted_pages(crawl.pages)
        return MiningInputs(crawl.web_pages(), crawl.seed_pages(), benchmark_texts(problems), crawl.labels(),
                            planted, MATH_KINDS)
    if cfg.pool_source == "files":
        return MiningInputs(read_files(cfg.pool_files, "mining.pool_files"),
                            read_files(cfg.seed_files, "mining.seed_files"), benchmark_texts(problems))
    return MiningInputs(read_hub(cfg.hub_pool, cfg.hub_pages, "mining.hub_pool"),
                        read_hub(cfg.hub_seed, cfg.hub_pages, "mining.hub_seed"), benchmark_texts(problems))


def read_files(patterns: Sequence[str], key: str) -> list[WebPage]:
    """Pages of every file matching the globs; unreadable records are logged and counted, never fatal."""
    files = sorted({f for pattern in patterns for f in glob.glob(paths.expand(pattern))})
    if not files:
        raise FileNotFoundError(f"{key} = {list(patterns)}: no file matches")
    errors: list = []
    pages = [page for path in files for page in read_pages(path, errors)]
    if errors:
        log.warning("%s: %d unreadable records skipped (first: %s)", key, len(errors), errors[0])
    return pages


def read_hub(name: str, limit: int, key: str) -> list[WebPage]:
    """The first `limit` pages of a hub dataset, streamed (records with a text and a url, as page_from_dict reads)."""
    if not name:
        raise ValueError(f"{key} is empty: name a hub dataset of web pages")
    from datasets import load_dataset

    stream = load_dataset(name, split="train", streaming=True)
    return [page_from_dict(dict(row)) for _, row in zip(range(limit), stream)]


def run_mining(inputs: MiningInputs, pool: Sequence[WebPage], cfg: MiningConfig, workdir: str | Path,
               annotations: str | Path, rng_seed: int = 0) -> MiningResult:
    """mine() in `workdir`; a folder left by a run of other inputs (a changed crawl) is cleared first."""
    workdir = Path(workdir)
    stamp = workdir / "inputs.sha256"
    if cfg.annotator == "oracle":
        if inputs.labels is None:
            raise ValueError("mining.annotator = 'oracle' needs true kinds: only pool_source 'synth' has them")
        annotate = OracleAnnotator(inputs.labels, inputs.math_kinds, cfg.path_depth)
    else:
        annotate = HumanAnnotator(annotations, {p.url: p.text for p in pool}, cfg.decisions or None)
    try:
        return mine(pool, inputs.seed, cfg, workdir, annotate, inputs.labels, inputs.math_kinds, rng_seed)
    except ValueError as err:
        if not stamp.exists() or "other inputs" not in str(err):
            raise
        log.info("%s: clearing a mining run of other inputs", workdir)
        shutil.rmtree(workdir)
        return mine(pool, inputs.seed, cfg, workdir, annotate, inputs.labels, inputs.math_kinds, rng_seed)


def random_sample(pool: Sequence[WebPage], budget: int, rng_seed: int = 0) -> list[WebPage]:
    """Pages drawn at random from the pool until the next one would pass `budget` tokens.

    >>> pages = [WebPage(str(i), "a b") for i in range(10)]
    >>> len(random_sample(pages, 7))
    3
    """
    out, used = [], 0
    for page in random.Random(rng_seed).sample(list(pool), len(pool)):
        if used + n_tokens(page.text) > budget:
            break
        out.append(page)
        used += n_tokens(page.text)
    return out


def build_corpora(inputs: MiningInputs, pool: Sequence[WebPage], result: MiningResult,
                  rng_seed: int = 0) -> dict[str, list[WebPage]]:
    """The corpora before decontamination: seed-only, iteration-1, final, a random-pool sample with the
    final corpus's token count, and (with true kinds) the arXiv-like, code and general-prose pages; without
    true kinds (real pages), general = the pool pages the final corpus left out, arxiv = latex_pages(pool)."""
    by_url = {p.url: p for p in pool}
    final = result.corpus
    corpora = {"seed_only": list(inputs.seed), "iteration_1": [by_url[u] for u in result.collected[0]],
               "final": final,
               "random_pool": random_sample(pool, sum(n_tokens(p.text) for p in final), rng_seed)}
    if inputs.labels is not None:
        for kind, name in KIND_CORPORA.items():
            corpora[name] = [p for p in pool if inputs.labels.get(p.url) == kind]
    else:  # real pages have no true kinds: notebooks 02-03 still need a general and an arXiv-like corpus
        collected = {p.url for p in final}
        corpora["general"] = [p for p in pool if p.url not in collected]
        corpora["arxiv"] = latex_pages(pool)
    return corpora


LATEX_COMMAND = re.compile(r"\\(frac|sum|int|begin|end|alpha|beta|theta|sqrt|mathbb|mathcal|left|right|cdot)\b")


def latex_pages(pool: Sequence[WebPage], min_commands: int = 2) -> list[WebPage]:
    """Pool pages with at least `min_commands` LaTeX math commands: the arXiv-like corpus of a real pool, a
    stand-in (the paper's comes from arXiv itself, which pool_source files / hub does not fetch).

    >>> [p.url for p in latex_pages([WebPage("a", "$\\\\frac{1}{2} + \\\\sqrt{2}$"), WebPage("b", "no math")])]
    ['a']
    """
    return [p for p in pool if len(LATEX_COMMAND.findall(p.text)) >= min_commands]


def write_corpus(path: str | Path, pages: Sequence[WebPage]) -> tuple[int, int]:
    """JSONL {url, text, n_tokens}; returns (pages, tokens)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = 0
    with open(path, "w", encoding="utf-8") as f:
        for page in pages:
            n = n_tokens(page.text)
            tokens += n
            f.write(json.dumps({"url": page.url, "text": page.text, "n_tokens": n}, ensure_ascii=False) + "\n")
    return len(pages), tokens


def write_corpora(corpora: Mapping[str, Sequence[WebPage]], folder: str | Path,
                  skip: Sequence[str] = ()) -> pd.DataFrame:
    """Each corpus but those in `skip` to folder/<name>.jsonl, and folder/corpora.json listing them;
    returns the table (corpus, pages, tokens, file)."""
    folder = Path(folder)
    rows = []
    for name, pages in corpora.items():
        if name in skip:
            continue
        n_pages, tokens = write_corpus(folder / f"{name}.jsonl", pages)
        rows.append({"corpus": name, "pages": n_pages, "tokens": tokens, "file": f"{name}.jsonl"})
    (folder / "corpora.json").write_text(json.dumps(rows, indent=1) + "\n")
    return pd.DataFrame(rows)


def read_corpus(path: str | Path) -> list[WebPage]:
    """A corpus written by write_corpus, back as pages; errors name the file and line."""
    pages = []
    # split on "\n" only: str.splitlines() also splits at U+2028, U+0085 ..., which real pages hold and
    # json.dumps(ensure_ascii=False) leaves unescaped inside a record
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pages.append(WebPage(row["url"], row["text"], {"n_tokens": row["n_tokens"]}))
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}:{lineno}: not a corpus record ({err})") from err
    return pages
