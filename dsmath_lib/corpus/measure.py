"""Measuring the mined corpus for notebook 01_corpus_mining: the iteration table, decontamination counts
against the planted copies, the paper's numbers beside ours, and the two figures.

    from dsmath_lib.corpus.measure import iteration_table, decontaminate_corpora, check_exact_copies_removed
    iteration_table(result.records)                         # one row per iteration, paper column beside
    clean, table, outcomes = decontaminate_corpora(corpora, index, inputs.planted)
    check_exact_copies_removed(outcomes)                    # AssertionError naming any exact copy left
    recall_precision_figure(table), score_histogram_figure(result, labels)

A planted page (or an exact / near duplicate of one) counts as caught when the line holding the benchmark
text (line `meta["line"]`, see corpus.inputs.planted_pages) is gone from the decontaminated page, or the
page itself is. Every other removed line is a clean segment
removed by mistake (including the template lines around a planted question). Precision and recall
exist only where true kinds do (smoke/tiny); real data gives NaN.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import pandas as pd

from dsmath_lib.corpus.decontamination import BenchmarkIndex, decontaminate
from dsmath_lib.corpus.miner import IterationRecord, MiningResult
from dsmath_lib.webdata import WebPage

# docs/PAPER.md §1: 4 iterations; in iteration 4 about 98% of the data had already been collected in iteration 3
PAPER_ITERATIONS = 4
PAPER_OVERLAP_LAST = 0.98


def iteration_table(records: Sequence[IterationRecord]) -> pd.DataFrame:
    """Per iteration: seed size, pages and tokens collected, precision, recall, overlap with the previous
    iteration (the paper's value beside it for its iteration 4), domains discovered and paths marked."""
    rows = []
    for r in records:
        rows.append({
            "iteration": r.iteration, "seed pages": r.seed_pages, "pages": r.pages, "tokens": r.tokens,
            "precision": r.precision, "recall": r.recall, "already collected": r.overlap_with_previous,
            "paper: already collected": PAPER_OVERLAP_LAST if r.iteration == PAPER_ITERATIONS else math.nan,
            "domains discovered": len(r.domains_discovered), "paths marked": len(r.paths_marked),
            "pages added to seed": r.seed_added, "scoring pages/s": r.scoring_pages_per_second,
        })
    return pd.DataFrame(rows)


def paper_comparison(records: Sequence[IterationRecord], corpus_tokens: int, corpus_pages: int,
                     domain_threshold: float, ngram: int) -> pd.DataFrame:
    """The paper's §2.1 numbers (docs/PAPER.md) beside ours; ours are in words of the embedded world."""
    last = records[-1]
    rows = [("iterations", PAPER_ITERATIONS, len(records)),
            ("final corpus pages", 35.5e6, corpus_pages),
            ("final corpus tokens (ours: words)", 120e9, corpus_tokens),
            ("share of the last iteration already collected in the one before", PAPER_OVERLAP_LAST,
             last.overlap_with_previous),
            ("domain threshold (share of a domain's pages collected)", 0.10, domain_threshold),
            ("decontamination n-gram", 10, ngram)]
    return pd.DataFrame(rows, columns=["quantity", "paper", "ours"])


def _removed_lines(before: str, after: str | None) -> list[str]:
    """Lines of `before` missing from `after` (None: the page was dropped), as a multiset difference.

    >>> _removed_lines("a\\nb\\na", "a")
    ['b', 'a']
    """
    left = list((after or "").split("\n")) if after is not None else []
    removed = []
    for line in before.split("\n"):
        if line in left:
            left.remove(line)
        else:
            removed.append(line)
    return removed


def planted_outcomes(before: Sequence[WebPage], after: Sequence[WebPage], planted: Mapping[str, dict],
                     corpus: str = "") -> pd.DataFrame:
    """One row per planted page present before decontamination: exact or paraphrased, caught or not, and
    how many of its other lines went with it."""
    kept = {p.url: p.text for p in after}
    rows = []
    for page in before:
        meta = planted.get(page.url)
        if meta is None:
            continue
        removed = _removed_lines(page.text, kept.get(page.url))
        caught = page.text.split("\n")[meta["line"]] in removed
        rows.append({"corpus": corpus, "url": page.url, "paraphrase": bool(meta["paraphrase"]), "caught": caught,
                     "other lines removed": len(removed) - caught})
    frame = pd.DataFrame(rows, columns=["corpus", "url", "paraphrase", "caught", "other lines removed"])
    return frame.astype({"paraphrase": bool, "caught": bool, "other lines removed": int})


def decontaminate_corpora(corpora: Mapping[str, Sequence[WebPage]], index: BenchmarkIndex,
                          planted: Mapping[str, dict]) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Decontaminate each corpus; returns (clean corpora, one table row per corpus, planted outcomes)."""
    clean, rows, outcomes = {}, [], []
    for name, pages in corpora.items():
        clean[name], report = decontaminate(pages, index)
        out = planted_outcomes(pages, clean[name], planted, name)
        planted_segments = int(out["caught"].sum())
        exact, para = out[~out["paraphrase"]], out[out["paraphrase"]]
        rows.append({"corpus": name, "pages": report.pages, "pages touched": report.pages_touched,
                     "pages removed": report.pages_removed, "segments removed": report.segments_removed,
                     "exact copies": len(exact), "exact caught": int(exact["caught"].sum()),
                     "paraphrases": len(para), "paraphrases caught": int(para["caught"].sum()),
                     "clean segments removed by mistake": report.segments_removed - planted_segments})
        outcomes.append(out)
    return clean, pd.DataFrame(rows), pd.concat(outcomes, ignore_index=True)


def check_exact_copies_removed(outcomes: pd.DataFrame) -> int:
    """Raise AssertionError naming every exact planted copy that survived decontamination; returns how
    many exact copies were checked (0 means nothing was checked: the caller should say so)."""
    exact = outcomes[~outcomes["paraphrase"]]
    missed = exact[~exact["caught"]]
    if len(missed):
        where = ", ".join(f"{c}:{u}" for c, u in zip(missed["corpus"], missed["url"]))
        raise AssertionError(f"{len(missed)} exact planted copies survived decontamination: {where}")
    return len(exact)


def forum_collected_share(forum_math_share: float, found_share: float) -> float:
    """The share of a mixed forum's pages the first classifier collects, when `forum_math_share` of its
    pages are math threads and it finds `found_share` of those: domain discovery fires above the threshold.

    >>> round(forum_collected_share(1 / 3, 0.4), 3)
    0.133
    """
    return forum_math_share * found_share


def recall_precision_figure(table: pd.DataFrame):
    """Recall and precision by iteration (from iteration_table)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(table["iteration"], table["recall"], "o-", label="recall")
    ax.plot(table["iteration"], table["precision"], "s--", label="precision")
    ax.set_xlabel("iteration")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(list(table["iteration"]))
    ax.legend()
    ax.set_title("Mined corpus vs the true kinds")
    return fig


def scores_by_kind(scores: Mapping[str, float], labels: Mapping[str, str] | None) -> dict[str, list[float]]:
    """Classifier scores grouped by true kind (kinds in sorted order); one group without true kinds.

    >>> scores_by_kind({"a": 0.9, "b": 0.1, "c": 0.8}, {"a": "math", "b": "prose", "c": "math"})
    {'math': [0.9, 0.8], 'prose': [0.1]}
    """
    out: dict[str, list[float]] = {}
    for url, score in scores.items():
        out.setdefault(labels[url] if labels is not None else "all pages", []).append(score)
    return dict(sorted(out.items()))


def score_histogram_figure(result: MiningResult, labels: Mapping[str, str] | None):
    """The classifier's score histogram by true kind, in the first and the last iteration. Bins span each
    panel's observed scores: selection uses only their order, and a small classifier's probabilities can
    crowd near 0.5 (smoke)."""
    import matplotlib.pyplot as plt

    panels = [(1, result.iteration_scores[0]), (len(result.iteration_scores), result.iteration_scores[-1])]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, (it, scores) in zip(axes, panels):
        low, high = min(scores.values()), max(scores.values())
        bins = [low + (high - low) * i / 30 for i in range(31)] if high > low else 30
        for kind, values in scores_by_kind(scores, labels).items():
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=kind)
        ax.set_yscale("log")
        ax.set_xlabel("P(math)")
        ax.set_title(f"iteration {it}")
    axes[0].set_ylabel("pool pages")
    axes[1].legend(fontsize=7)
    return fig


def summary_sentence(table: pd.DataFrame, decon: pd.DataFrame) -> str:
    """A sentence stating the measured outcome, for the notebook's conclusion."""
    first, last = table.iloc[0], table.iloc[-1]
    final = decon[decon["corpus"] == "final"].iloc[0]
    return (f"Recall went from {first['recall']:.3f} in iteration 1 to {last['recall']:.3f} in iteration "
            f"{int(last['iteration'])} (precision {first['precision']:.3f} -> {last['precision']:.3f}); "
            f"{last['already collected']:.1%} of the last iteration was already collected in the one before "
            f"(paper: {PAPER_OVERLAP_LAST:.0%} in iteration 4). Decontamination of the final corpus caught "
            f"{final['exact caught']}/{final['exact copies']} exact and {final['paraphrases caught']}/"
            f"{final['paraphrases']} paraphrased planted copies and removed {final['clean segments removed by mistake']}"
            f" clean segments by mistake.")
