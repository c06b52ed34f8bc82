"""Metrics: Pass@K against the reference estimator, Maj@K against brute force, bootstrap intervals."""

import itertools
import math

import numpy as np
import pytest

from dsmath_lib.eval.metrics import (AnswerClasses, accuracy, answer_classes, bootstrap_ci, maj_at_k,
                                     maj_at_k_curve, maj_at_k_problem, majority_vote, pass_at_k,
                                     pass_at_k_curve)


def reference_pass_at_k(n, c, k):
    """The numerically stable estimator from Chen et al. (2021), as published."""
    if n - c < k:
        return 1.0
    return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))


def test_pass_at_k_matches_the_reference_estimator():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        n = int(rng.integers(1, 300))
        c, k = int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))
        assert abs(pass_at_k(n, c, k) - reference_pass_at_k(n, c, k)) < 1e-9, (n, c, k)


def test_pass_at_k_matches_the_binomial_formula_where_it_is_exact():
    for n in range(1, 25):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert abs(pass_at_k(n, c, k) - exact) < 1e-12


def test_pass_at_k_edges_and_errors():
    assert pass_at_k(64, 0, 64) == 0.0 and pass_at_k(64, 1, 64) == 1.0
    assert pass_at_k(64, 16, 1) == pytest.approx(0.25)
    for bad in [(4, 5, 1), (4, 1, 0), (4, 1, 5), (4, -1, 1)]:
        with pytest.raises(ValueError, match="pass_at_k needs"):
            pass_at_k(*bad)


def test_pass_at_k_curve_is_monotone_and_averages_problems():
    rng = np.random.default_rng(1)
    correct = rng.random((30, 64)) < rng.random((30, 1)) * 0.3  # (P, n)
    curve = pass_at_k_curve(correct, range(1, 65))
    assert curve[0] == pytest.approx(correct.mean())
    assert np.all(np.diff(curve) >= -1e-12)
    assert curve[-1] == pytest.approx(correct.any(axis=1).mean())


def test_accuracy():
    assert accuracy([True, True, False, False]) == 0.5
    with pytest.raises(ValueError):
        accuracy([])


def test_answer_classes_group_equivalent_answers_and_call_equiv_sparingly():
    calls = []

    def equiv(a, b):
        calls.append((a, b))
        return float(a) == float(b)

    ac = answer_classes(["2", "2.0", None, "3", "2", "3", ""], gold="3", equiv=equiv)
    assert ac.labels.tolist() == [0, 0, -1, 1, 0, 1, -1]
    assert ac.correct.tolist() == [False, True] and ac.representatives == ("2", "3")
    assert len(calls) == 4  # "2.0" vs "2", "3" vs "2", then each class vs gold; repeats are free


def test_answer_classes_with_the_real_grader():
    ac = answer_classes(["\\frac{1}{2}", "0.5", "1/2", "\\sqrt{2}", "2^{1/2}"], gold="\\sqrt{2}")
    assert ac.labels.tolist() == [0, 0, 0, 1, 1]
    assert ac.correct.tolist() == [False, True]


def test_majority_vote_ties_go_to_the_lowest_sample_index():
    assert majority_vote(np.array([1, 0, 0, 1])) == 1
    assert majority_vote(np.array([1, 0, 0, 1, 0])) == 0
    assert majority_vote(np.array([-1, -1, 2])) == 2
    assert majority_vote(np.array([-1])) == -1


def brute_force_maj(ac, k):
    """Mean over every k-subset of whether its majority vote is correct."""
    correct = np.append(ac.correct, False)
    n = len(ac.labels)
    return np.mean([correct[majority_vote(ac.labels[list(s)])] for s in itertools.combinations(range(n), k)])


def random_classes(rng, n, n_classes):
    labels = rng.integers(-1, n_classes, size=n)
    return AnswerClasses(labels, rng.random(n_classes) < 0.5, tuple(str(i) for i in range(n_classes)))


def test_maj_at_k_is_exact_when_all_subsets_are_cheap():
    rng = np.random.default_rng(2)
    for _ in range(40):
        ac = random_classes(rng, int(rng.integers(1, 9)), int(rng.integers(1, 4)))
        for k in range(1, len(ac.labels) + 1):
            assert maj_at_k(ac, k, resamples=256) == pytest.approx(brute_force_maj(ac, k), abs=1e-12)


def test_maj_at_k_sampled_estimate_is_close_and_seeded():
    rng = np.random.default_rng(3)
    ac = random_classes(rng, 14, 3)  # C(14, 6) = 3003 subsets > 256: sampled
    exact = brute_force_maj(ac, 6)
    estimates = [maj_at_k(ac, 6, resamples=2000, seed=s) for s in range(3)]
    assert all(abs(e - exact) < 0.05 for e in estimates)
    assert maj_at_k(ac, 6, seed=7) == maj_at_k(ac, 6, seed=7)


def test_maj_at_k_curve_ends_at_the_full_vote_and_starts_at_the_sample_accuracy():
    rng = np.random.default_rng(4)
    problems = [random_classes(rng, 64, int(rng.integers(1, 6))) for _ in range(20)]
    curve = maj_at_k_curve(problems, range(1, 65))
    per_sample = np.mean([np.append(p.correct, False)[p.labels].mean() for p in problems])
    full_vote = np.mean([np.append(p.correct, False)[majority_vote(p.labels)] for p in problems])
    assert curve[0] == pytest.approx(per_sample)
    assert curve[-1] == pytest.approx(full_vote)
    assert np.array_equal(curve, maj_at_k_curve(problems, range(1, 65)))  # deterministic


def test_maj_at_k_problem_rejects_bad_k_and_handles_no_answers():
    ac = AnswerClasses(np.array([-1, -1]), np.zeros(0, dtype=bool), ())
    assert maj_at_k_problem(ac, [1, 2]).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="1 <= k <= n = 2"):
        maj_at_k_problem(ac, [3])


def test_bootstrap_ci_is_seeded_and_covers_the_mean():
    rng = np.random.default_rng(5)
    scores = rng.random(400) < 0.3
    lo, hi = bootstrap_ci(scores, seed=0)
    assert lo < scores.mean() < hi and 0.05 < hi - lo < 0.12  # about 2 * 1.96 * sqrt(.21 / 400) = 0.09
    assert bootstrap_ci(scores, seed=0) == (lo, hi)
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])
