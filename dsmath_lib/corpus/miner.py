"""The iterative math-corpus miner (paper §2.1, Figure 2): classifier -> score -> select -> discover -> annotate.

    from dsmath_lib.corpus.miner import mine
    result = mine(pool, seed_pages, params.mining, workdir, annotate=OracleAnnotator(labels, MATH_KINDS),
                  labels=labels, math_kinds=MATH_KINDS)
    result.records    # one IterationRecord per iteration (the notebook's per-iteration table)
    result.corpus     # the last iteration's collected pages

One iteration: train fastText on the seed vs as many random pool pages (not in the seed); score the whole
pool with the datatrove pipeline (dsmath_lib.corpus.scoring); keep the top-scored pages up to the token
budget; find the domains with more than 10% of their pages collected; let the annotator judge up to
`paths_per_iteration` URL paths inside them; pool pages under the paths marked math join the seed (the
paper adds the ones not yet collected; we add every page under the path not already in the seed, which
also keeps the collected ones as positives). Then the classifier is retrained.

Tokens are whitespace-separated words here (the paper counts BPE tokens: the budget is a ratio of the
pool's size either way). `labels` ({url: true kind}) are used only for the precision/recall columns and
never reach selection; `annotate` is the only part of the loop that may read them (the oracle).
`workdir` holds one run: rerun in the same folder, an interrupted run resumes (datatrove skips finished
scoring tasks); a run of other inputs there is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

from dsmath_lib.config import MiningConfig
from dsmath_lib.corpus.annotation import PathCandidate, candidate_paths, discover_domains, url_path
from dsmath_lib.corpus.classifier import FastTextParams, train_classifier
from dsmath_lib.corpus.scoring import read_scores, run_scoring, write_pool_shards
from dsmath_lib.webdata import WebPage

log = logging.getLogger(__name__)
Annotator = Callable[[Sequence[PathCandidate], int], set]


def n_tokens(text: str) -> int:
    """Whitespace-separated words: our token count.

    >>> n_tokens("Solve  $x + 1 = 2$")
    6
    """
    return len(text.split())


def select_top(scores: Mapping[str, float], tokens: Mapping[str, int], budget: int) -> list[str]:
    """URLs by decreasing score (ties by URL) until the next page would pass the token budget.

    >>> select_top({"a": 0.9, "b": 0.8, "c": 0.1}, {"a": 5, "b": 5, "c": 5}, budget=10)
    ['a', 'b']
    """
    chosen, used = [], 0
    for url in sorted(scores, key=lambda u: (-scores[u], u)):
        if used + tokens[url] > budget:
            break
        chosen.append(url)
        used += tokens[url]
    return chosen


def precision_recall(collected: Collection[str], labels: Mapping[str, str] | None,
                     math_kinds: Collection[str]) -> tuple[float, float]:
    """Precision and recall of the collected URLs against the true kinds (NaN without labels).

    >>> precision_recall({"a", "b"}, {"a": "math", "b": "prose", "c": "math"}, {"math"})
    (0.5, 0.5)
    """
    if labels is None:
        return math.nan, math.nan
    positives = {u for u, k in labels.items() if k in math_kinds}
    hit = sum(u in positives for u in collected)
    return (hit / len(collected) if collected else 0.0), (hit / len(positives) if positives else math.nan)


@dataclass
class IterationRecord:
    iteration: int
    seed_pages: int  # positives the classifier was trained on
    pages: int  # collected this iteration
    tokens: int
    precision: float  # vs the true kinds (smoke/tiny only)
    recall: float
    overlap_with_previous: float  # share of this iteration's pages already collected in the previous one
    domains_discovered: list[str] = field(default_factory=list)
    paths_marked: list[str] = field(default_factory=list)
    seed_added: int = 0  # pages under the marked paths that join the next seed
    scoring_seconds: float = 0.0
    scoring_pages_per_second: float = 0.0


@dataclass
class MiningResult:
    records: list[IterationRecord]
    corpus: list[WebPage]
    scores: dict[str, float]  # the last iteration's scores
    seed_urls: list[str]  # the final seed (initial seed plus annotated pages)
    collected: list[list[str]] = field(default_factory=list)  # URLs selected in each iteration, in score order
    iteration_scores: list[dict[str, float]] = field(default_factory=list)  # each iteration's pool scores


def mine(pool: Sequence[WebPage], seed: Sequence[WebPage], cfg: MiningConfig, workdir: str | Path,
         annotate: Annotator, labels: Mapping[str, str] | None = None,
         math_kinds: Collection[str] = (), rng_seed: int = 0) -> MiningResult:
    """Run `cfg.iterations` mining iterations over a deduplicated pool (unique URLs)."""
    workdir = Path(workdir)
    by_url = {p.url: p for p in pool}
    if len(by_url) != len(pool):
        raise ValueError("mine: the pool has repeated URLs; run dedup_pool first")
    tokens = {u: n_tokens(p.text) for u, p in by_url.items()}
    if labels is not None:  # recall counts the math pages of the pool, not those dedup removed
        labels = {u: labels[u] for u in by_url}
    _claim_workdir(workdir, pool, seed, cfg)
    write_pool_shards(pool, workdir / "pool", cfg.tasks)
    seed_texts = {p.url: p.text for p in seed}
    annotated: set[str] = set()
    previous: set[str] = set()
    records, scores, chosen, history = [], {}, [], []
    for it in range(1, cfg.iterations + 1):
        model = _train(seed_texts, pool, cfg, workdir / f"iter{it}", random.Random(rng_seed * 1000 + it))
        start = time.perf_counter()
        out = run_scoring(workdir / "pool", model, workdir / f"iter{it}" / "scoring", cfg.executor, cfg.tasks,
                          cfg.workers, **_cluster_args(cfg))
        scores, seconds = read_scores(out), time.perf_counter() - start
        chosen = select_top(scores, tokens, cfg.token_budget)
        history.append((chosen, scores))
        collected = set(chosen)
        precision, recall = precision_recall(collected, labels, math_kinds)
        domains = discover_domains(collected, by_url, cfg.domain_threshold)
        cands = candidate_paths(by_url, collected, domains, cfg.path_depth, exclude=annotated)[: cfg.paths_per_iteration]
        annotated |= {c.path for c in cands}
        marked = sorted(annotate(cands, it))
        added = _grow_seed(seed_texts, by_url, set(marked), cfg.path_depth)
        records.append(IterationRecord(
            it, len(seed_texts) - added, len(chosen), sum(tokens[u] for u in chosen), precision, recall,
            (len(collected & previous) / len(collected)) if collected and previous else math.nan,
            domains, marked, added, seconds, len(pool) / seconds if seconds else math.nan))
        log.info("mining iteration %d: %s", it, records[-1])
        previous = collected
    return MiningResult(records, [by_url[u] for u in chosen], scores, list(seed_texts),
                        [c for c, _ in history], [s for _, s in history])


def _claim_workdir(workdir: Path, pool: Sequence[WebPage], seed: Sequence[WebPage], cfg: MiningConfig) -> None:
    """Tie `workdir` to this pool, seed and config: datatrove skips tasks already done in a folder, which
    resumes an interrupted run but would serve stale scores to a different one."""
    digest = hashlib.sha256(repr(sorted(dataclasses.asdict(cfg).items())).encode())
    for page in list(pool) + [WebPage("--seed--", "")] + list(seed):
        digest.update(page.url.encode() + b"\0" + page.text.encode() + b"\0")
    stamp = workdir / "inputs.sha256"
    if stamp.exists() and stamp.read_text() != digest.hexdigest():
        raise ValueError(f"{workdir}: holds a mining run of other inputs; use a new folder or delete this one")
    workdir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest.hexdigest())


def _train(seed_texts: dict[str, str], pool: Sequence[WebPage], cfg: MiningConfig, folder: Path,
           rng: random.Random) -> Path:
    """fastText on the seed vs random pool pages outside the seed (paper: random Common Crawl pages)."""
    others = [p for p in pool if p.url not in seed_texts]
    n_neg = min(len(others), max(1, round(cfg.negatives_per_positive * len(seed_texts))))
    negatives = [p.text for p in rng.sample(others, n_neg)]
    params = FastTextParams(cfg.dim, cfg.lr, cfg.word_ngrams, cfg.min_count, cfg.epoch, cfg.bucket)
    return train_classifier(list(seed_texts.values()), negatives, folder, params)


def _grow_seed(seed_texts: dict[str, str], by_url: Mapping[str, WebPage], marked: set[str], depth: int) -> int:
    """Add the pool pages under the marked paths to the seed (in place); returns how many joined."""
    added = 0
    for url, page in by_url.items():
        if url not in seed_texts and url_path(url, depth) in marked:
            seed_texts[url] = page.text
            added += 1
    return added


def _cluster_args(cfg: MiningConfig) -> dict:
    return {"slurm_partition": cfg.slurm_partition, "slurm_time": cfg.slurm_time} if cfg.executor == "slurm" else {}
