"""Intervals over problems: one interval of a measure, one paired interval of a difference, one formatter.

    from dsmath_lib.eval.intervals import interval, seed_averaged, seed_averaged_interval, paired_difference
    interval([1, 0, 1, 1])                                   # '75.0 [25.0, 100.0]': mean [95% CI], in %
    mean, lo, hi, n = seed_averaged_interval(frame)          # frame: id, score (several seeds per id)
    d = paired_difference(seed_averaged(a), seed_averaged(b))  # a - b on the problems both saw
    d.mean, d.ci_low, d.ci_high, d.problems, d.resolved
    format_interval(d.mean, d.ci_low, d.ci_high)             # '12.5 [3.0, 22.0]'
    parse_interval('12.5 [3.0, 22.0]')                       # (12.5, 3.0, 22.0): a table cell read back

Every interval of the study is a 95% percentile bootstrap over problems (metrics.bootstrap_ci, seeded), so
the tables of notebooks 02-05 and 07 read alike. A measure run with several seeds is first averaged per
problem over its seeds (`seed_averaged`), then resampled over problems: the interval says how much the
choice of test problems moves the number, with seed noise averaged in. A difference between two systems
(two corpora, RL and Instruct) is resampled as pairs, problem by problem (`paired_difference`): the same
problems are drawn for both, which removes the spread that problems of different difficulty add, and is
what tells an effect from noise. 'resolved' is an interval that excludes 0.

The order of the per-problem values fixes which problems a seeded bootstrap draws, so each caller keeps
the order it had: seed-averaged scores are sorted by problem id (pandas groupby), greedy scores of one
run keep the benchmark's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsmath_lib.eval.metrics import bootstrap_ci


def format_interval(mean: float, low: float, high: float, scale: float = 100.0) -> str:
    """'mean [low, high]' with one decimal, each value times `scale` (100: a fraction shown in %).

    >>> format_interval(0.125, 0.03, 0.22), format_interval(1.234, 1.2, 1.3, scale=1.0)
    ('12.5 [3.0, 22.0]', '1.2 [1.2, 1.3]')
    """
    return f"{scale * mean:.1f} [{scale * low:.1f}, {scale * high:.1f}]"


def parse_interval(text: str) -> tuple[float, float, float]:
    """(mean, low, high) of a 'mean [low, high]' table cell, in the cell's units; NaNs for '-' or a blank.
    The inverse of format_interval, so a conclusion can read its numbers from the table it describes.

    >>> parse_interval("12.5 [3.0, 22.0]"), parse_interval("-")
    ((12.5, 3.0, 22.0), (nan, nan, nan))
    """
    try:
        mean, rest = str(text).split("[", 1)
        low, high = rest.rstrip("] ").split(",")
        return float(mean), float(low), float(high)
    except ValueError:
        return float("nan"), float("nan"), float("nan")


def interval(scores: Sequence[float], seed: int = 0, scale: float = 100.0) -> str:
    """format_interval of the mean of per-problem scores and its 95% bootstrap interval; '-' for none.

    >>> interval([1, 0, 1, 1]), interval([])
    ('75.0 [25.0, 100.0]', '-')
    """
    if len(scores) == 0:
        return "-"
    lo, hi = bootstrap_ci(scores, seed=seed)
    return format_interval(float(np.mean(np.asarray(scores, dtype=float))), lo, hi, scale)


def seed_averaged(scores: pd.DataFrame) -> pd.Series:
    """Each problem's score averaged over the rows (seeds) it has: a Series indexed by id, sorted by id.

    >>> seed_averaged(pd.DataFrame({"id": ["b", "a", "b"], "score": [1.0, 0.0, 0.0]})).to_dict()
    {'a': 0.0, 'b': 0.5}
    """
    return scores.groupby("id")["score"].mean()


def seed_averaged_interval(scores: pd.DataFrame, seed: int = 0) -> tuple[float, float, float, int]:
    """(mean, CI low, CI high, problems) of one measure's rows (columns id, score): each problem's score
    averaged over seeds, then the mean over problems with a 95% percentile bootstrap interval over problems.

    >>> seed_averaged_interval(pd.DataFrame({"id": ["a", "a", "b", "b"], "score": [1.0, 0.0, 1.0, 0.0]}))
    (0.5, 0.5, 0.5, 2)
    """
    per_problem = seed_averaged(scores).to_numpy()  # (P,)
    lo, hi = bootstrap_ci(per_problem, seed=seed)
    return float(per_problem.mean()), lo, hi, len(per_problem)


@dataclass(frozen=True)
class Difference:
    """a - b over the problems both systems saw: the mean and its 95% paired bootstrap interval."""

    mean: float
    ci_low: float
    ci_high: float
    problems: int

    @property
    def resolved(self) -> bool:
        """Whether the interval excludes 0 (the sign of the difference is not noise)."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def paired_difference(a: pd.Series, b: pd.Series, seed: int = 0) -> Difference:
    """System a minus system b, problem by problem: a and b are per-problem scores indexed by problem id
    (seed-averaged where there are seeds); the differences on the ids both have, in a's order, are
    resampled over problems with metrics.bootstrap_ci.

    >>> a = pd.Series([1.0, 1.0, 0.0, 1.0], index=["p0", "p1", "p2", "p3"])
    >>> b = pd.Series([0.0, 0.0, 1.0, 0.0, 0.0], index=["p4", "p3", "p2", "p1", "p0"])
    >>> d = paired_difference(a, b)
    >>> d.mean, d.problems, d.resolved
    (0.5, 4, False)
    """
    diff = (a - b.reindex(a.index)).dropna().to_numpy(dtype=float)  # (P,) in a's order
    if diff.size == 0:
        raise ValueError("paired_difference: the two systems share no problem")
    lo, hi = bootstrap_ci(diff, seed=seed)
    return Difference(float(diff.mean()), lo, hi, int(diff.size))
