"""Accuracy metrics: greedy top-1, Pass@K, Maj@K and their curves over K, and a bootstrap CI.

    from dsmath_lib.eval.metrics import accuracy, pass_at_k, pass_at_k_curve, answer_classes, maj_at_k_curve
    pass_at_k(n=64, c=3, k=8)                          # unbiased estimator for one problem
    pass_at_k_curve(correct, ks=range(1, 65))          # correct: (P, n) bool -> (len(ks),) mean over problems
    classes = [answer_classes(answers_p, gold_p) for answers_p, gold_p in ...]
    maj_at_k_curve(classes, ks=range(1, 65))           # Figure 7's Maj@K, same K axis
    bootstrap_ci(per_problem_scores, seed=0)           # (low, high) 95% interval over problems

Formulas (docs/PAPER.md §5, Figure 7):
- Pass@K = E[1 - C(n-c, K) / C(n, K)] over problems, n samples of which c are correct (Chen et al. 2021),
  computed as the product 1 - prod_{i=n-c+1}^{n} (1 - K/i), which never forms a huge binomial.
- Maj@K: a problem counts as solved when the largest class of equivalent answers among K samples is
  correct. Answers are grouped into classes with is_equiv once per problem (answer_classes); samples
  without an answer do not vote. Ties go to the class holding the lowest sample index in the subset
  (samples are i.i.d., so this is an arbitrary but fixed choice; it never depends on dictionary order).
  Maj@K from n > K samples is the expectation over random subsets of size K: exact, by enumerating the
  subsets, when there are at most `resamples` of them (K = 1 and K = n whenever n <= resamples);
  otherwise estimated from `resamples` seeded random orders of the n samples, whose first K samples are a
  uniform K-subset (256 orders by default, shared by every K so the curve is smooth: one problem's
  estimate has a standard error of at most 0.5/sqrt(256) = 0.03, the mean over P problems about
  0.03/sqrt(P)).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dsmath_lib.eval.grading import is_equiv, normalize_answer


def accuracy(correct: Sequence[bool]) -> float:
    """Fraction correct (greedy top-1 accuracy when each problem has one greedy sample).

    >>> accuracy([True, False, True, True])
    0.75
    """
    if len(correct) == 0:
        raise ValueError("accuracy of an empty list")
    return float(np.mean(np.asarray(correct, dtype=float)))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased Pass@k from n samples with c correct: 1 - C(n-c, k)/C(n, k), in product form.

    >>> pass_at_k(10, 0, 3), pass_at_k(10, 8, 3), round(pass_at_k(10, 2, 3), 6)
    (0.0, 1.0, 0.533333)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0  # every k-subset holds a correct sample
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def pass_at_k_curve(correct: np.ndarray | Sequence[Sequence[bool]], ks: Iterable[int]) -> np.ndarray:
    """Mean Pass@k over problems for each k; correct is (P, n) bool, one row per problem.

    >>> pass_at_k_curve([[True, False], [False, False]], [1, 2]).tolist()
    [0.25, 0.5]
    """
    correct = np.asarray(correct, dtype=bool)  # (P, n)
    n, counts = correct.shape[1], correct.sum(axis=1)  # counts: (P,)
    return np.array([np.mean([pass_at_k(n, int(c), k) for c in counts]) for k in ks])


@dataclass(frozen=True)
class AnswerClasses:
    """One problem's samples grouped by equivalent answers.

    labels: (n,) class id of each sample, -1 when it has no answer. correct: (C,) whether class c's answer
    is equivalent to the gold answer. representatives: one answer string per class.
    """

    labels: np.ndarray
    correct: np.ndarray
    representatives: tuple[str, ...]


def answer_classes(answers: Sequence[str | None], gold: str,
                   equiv: Callable[[str, str], bool] = is_equiv) -> AnswerClasses:
    """Group answers into equivalence classes (class ids in order of first appearance) and grade each class.

    Identical normalized strings share a class without calling `equiv`; other strings are compared with
    each class's first answer, so the cost is (distinct strings) x (classes) comparisons.

    >>> ac = answer_classes(["1/2", None, "0.5", "3", "\\\\frac{1}{2}"], gold="3")
    >>> ac.labels.tolist(), ac.correct.tolist(), ac.representatives
    ([0, -1, 0, 1, 0], [False, True], ('1/2', '3'))
    """
    labels = np.full(len(answers), -1, dtype=int)
    reps: list[str] = []
    by_norm: dict[str, int] = {}
    for i, answer in enumerate(answers):
        if answer is None or not answer.strip():
            continue
        norm = normalize_answer(answer)
        if norm not in by_norm:
            by_norm[norm] = next((c for c, rep in enumerate(reps) if equiv(answer, rep)), len(reps))
            if by_norm[norm] == len(reps):
                reps.append(answer)
        labels[i] = by_norm[norm]
    correct = np.array([equiv(rep, gold) for rep in reps], dtype=bool)
    return AnswerClasses(labels, correct, tuple(reps))


def majority_vote(labels: np.ndarray) -> int:
    """The winning class among sample labels (-1 = no answer, never wins); ties to the lowest sample index.

    >>> majority_vote(np.array([2, 1, 1, 2, -1])), majority_vote(np.array([-1, -1]))
    (2, -1)
    """
    voted = labels[labels >= 0]
    if voted.size == 0:
        return -1
    classes, first, counts = np.unique(voted, return_index=True, return_counts=True)
    best = np.lexsort((first, -counts))[0]  # most votes, then earliest first vote
    return int(classes[best])


def _prefix_wins(labels: np.ndarray, orders: np.ndarray, n_classes: int) -> np.ndarray:
    """Winning class of every prefix of every order: orders (R, m) sample indices -> (R, m) class ids or -1.

    Column j is the majority vote of samples orders[:, :j+1]; ties go to the class holding the lowest sample
    index among them (as in majority_vote), whatever the order.
    """
    sub = labels[orders]  # (R, m)
    votes = sub[:, :, None] == np.arange(n_classes)  # (R, m, C)
    counts = votes.cumsum(axis=1)  # (R, m, C): votes of each class within each prefix
    n = int(orders.max()) + 1
    lowest = np.minimum.accumulate(np.where(votes, orders[:, :, None], n), axis=1)  # (R, m, C)
    score = counts * (n + 1) - lowest  # more votes first, then the lowest sample index
    return np.where(counts.max(axis=2) > 0, score.argmax(axis=2), -1)


def maj_at_k_problem(classes: AnswerClasses, ks: Iterable[int], resamples: int = 256,
                     seed: int | Sequence[int] = 0) -> np.ndarray:
    """Expected Maj@k of one problem for each k, over size-k subsets of its n samples.

    Exact (all C(n, k) subsets) when C(n, k) <= resamples; otherwise the first k samples of `resamples`
    seeded random orders of the n samples, each a uniform random k-subset (one set of orders serves all k).

    >>> ac = AnswerClasses(np.array([0, 0, 1]), np.array([True, False]), ("a", "b"))
    >>> maj_at_k_problem(ac, [1, 2, 3]).round(4).tolist()
    [0.6667, 1.0, 1.0]
    """
    labels, n_classes = classes.labels, len(classes.representatives)
    n, ks = len(labels), list(ks)
    if any(not 1 <= k <= n for k in ks):
        raise ValueError(f"maj@k needs 1 <= k <= n = {n}, got ks={ks}")
    correct = np.append(classes.correct, False)  # index -1: nobody voted, wrong
    if n_classes == 0:
        return np.zeros(len(ks))
    sampled = None
    out = []
    for k in ks:
        if math.comb(n, k) <= resamples:
            subsets = np.array(list(itertools.combinations(range(n), k)))  # (C(n,k), k)
            out.append(correct[_prefix_wins(labels, subsets, n_classes)[:, -1]].mean())
            continue
        if sampled is None:
            orders = np.argsort(np.random.default_rng(seed).random((resamples, n)), axis=1)  # (R, n)
            sampled = correct[_prefix_wins(labels, orders, n_classes)]  # (R, n) bool
        out.append(sampled[:, k - 1].mean())
    return np.array(out, dtype=float)


def maj_at_k(classes: AnswerClasses, k: int, resamples: int = 256, seed: int = 0) -> float:
    """Expected Maj@k of one problem (see maj_at_k_problem).

    >>> ac = AnswerClasses(np.array([0, 1, 1, -1]), np.array([False, True]), ("a", "b"))
    >>> maj_at_k(ac, 4), maj_at_k(ac, 1)
    (1.0, 0.5)
    """
    return float(maj_at_k_problem(classes, [k], resamples, seed)[0])


def maj_at_k_curve(problems: Sequence[AnswerClasses], ks: Iterable[int], resamples: int = 256,
                   seed: int = 0) -> np.ndarray:
    """Mean Maj@k over problems for each k, aligned with ks; problem i uses the seed (seed, i).

    >>> ac = AnswerClasses(np.array([0, 0, 1]), np.array([True, False]), ("a", "b"))
    >>> maj_at_k_curve([ac, ac], [1, 3]).round(4).tolist()
    [0.6667, 1.0]
    """
    ks = list(ks)
    rows = [maj_at_k_problem(p, ks, resamples, [seed, i]) for i, p in enumerate(problems)]
    return np.mean(rows, axis=0)


def bootstrap_ci(scores: Sequence[float] | Sequence[bool], n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of per-problem scores (resampling problems, seeded).

    >>> lo, hi = bootstrap_ci([True] * 70 + [False] * 30)
    >>> 0.6 < lo < 0.7 < hi < 0.8
    True
    """
    x = np.asarray(scores, dtype=float)  # (P,)
    if x.size == 0:
        raise ValueError("bootstrap_ci of an empty list")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)  # (n_boot,)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))
