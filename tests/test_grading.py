"""Answer extraction and grading, including the real GSM8K / MATH references and the symbolic timeout."""

import logging
import multiprocessing as mp
import threading
import time

import pytest

from dsmath_lib.data import load_benchmark
from dsmath_lib.eval.grading import (SymbolicChecker, extract_answer, fast_equiv, first_answer_line, grade_many,
                                     is_equiv, normalize_answer, to_number)
from dsmath_lib.problem import last_boxed

HANGS_SYMPY = "9^{9^{9^{9}}}"  # math-verify tries to evaluate this tower and does not come back


@pytest.mark.parametrize("text, kind, expected", [
    ("so $x=\\boxed{\\frac{1}{2}}$ and done", "latex", "\\frac{1}{2}"),
    ("first \\boxed{1} then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.", "latex",
     "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("nested \\boxed{\\{1, \\{2\\}\\}}", "latex", "\\{1, \\{2\\}\\}"),
    ("the answer is \\boxed 5.", "latex", "5"),
    ("\\fbox{7} is it", "latex", "7"),
    ("cut off \\boxed{3} and \\boxed{\\frac{1}{", "latex", "3"),  # an unclosed box is skipped
    ("Adding, 3 + 4 = 7.\nThe answer is $\\frac{3}{4}$.", "latex", "\\frac{3}{4}"),
    ("The final answer is: 12 apples", "latex", "12 apples"),
    ("The answer is 3.5.", "numeric", "3.5"),
    ("The answer is 3 + 4 = 7.", "numeric", "7"),
    ("The answer is $1,450,000.", "numeric", "1,450,000"),
    ("He makes 9 * 2 = $18\n#### 18", "numeric", "18"),
    ("so we get 12, then 15 and finally -3.25 left", "numeric", "-3.25"),
    ("no digits at all", "numeric", None),
    ("we get 5 and the answer is\n6", "latex", "6"),  # an empty phrase falls through to the last number
    ("", "latex", None),
    (None, "latex", None),
])
def test_extract_answer(text, kind, expected):
    assert extract_answer(text, kind) == expected


def test_boxed_beats_answer_is_beats_hashes_beats_last_number():
    assert extract_answer("The answer is 4.\n#### 5\n\\boxed{6} 7") == "6"
    assert extract_answer("The answer is 4.\n#### 5 then 7") == "4"
    assert extract_answer("#### 5 then 7") == "5 then 7"
    assert extract_answer("#### 5 then 7", "numeric") == "7"
    assert last_boxed("none") is None


@pytest.mark.parametrize("a, b", [
    ("\\left( 3, \\dfrac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
    ("\\frac12", "\\frac{1}{2}"),
    ("x = \\sqrt2", "\\sqrt{2}"),
    ("90^\\circ", "90"),
    ("\\text{(C)}", "(C)"),
])
def test_normalize_answer_equalities(a, b):
    assert normalize_answer(a) == normalize_answer(b)


@pytest.mark.parametrize("text, value", [
    ("1,000", 1000.0), ("$18.00", 18.0), ("45\\%", 45.0), ("-3", -3.0), (".5", 0.5), ("\\frac{3}{4}", 0.75),
    ("-\\dfrac{1}{8}", -0.125), ("7/2", 3.5), ("12 \\text{ inches}", 12.0), ("18 dollars", 18.0),
    ("2x", None), ("1,2", None), ("\\sqrt{2}", None), ("(1, 2)", None), ("\\frac{1}{0}", None),
])
def test_to_number(text, value):
    assert to_number(text) == value


def test_fast_tiers():
    assert fast_equiv("1,000", "1000.0009") is True  # within the paper's 1e-3
    assert fast_equiv("1000.002", "1000") is False
    assert fast_equiv("70,001", "70000") is False  # absolute, not relative, tolerance
    assert fast_equiv("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)") is True
    assert fast_equiv("\\frac{\\pi}{2}", "\\pi/2") is None  # left to the symbolic tier


@pytest.mark.parametrize("pred, gold, equal", [
    ("\\sqrt{8}", "2\\sqrt{2}", True),
    ("\\pi/2", "\\frac{\\pi}{2}", True),
    ("x^2+2x+1", "(x+1)^2", True),
    ("[1,2)", "[1, 2)", True),
    ("0.5", "\\frac{1}{2}", True),
    ("\\sqrt{8}", "3\\sqrt{2}", False),
    ("x^2+1", "(x+1)^2", False),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{2}", False),
    (None, "3", False),
    ("  ", "3", False),
])
def test_is_equiv(pred, gold, equal):
    assert is_equiv(pred, gold, timeout_s=30) is equal


def test_a_hung_comparison_times_out_counts_wrong_is_logged_and_the_next_call_works(caplog):
    with SymbolicChecker(size=1) as checker, caplog.at_level(logging.WARNING):
        start = time.monotonic()
        assert is_equiv(HANGS_SYMPY, "3", timeout_s=1.0, checker=checker) is False
        assert time.monotonic() - start < 5
        assert "timed out after 1 s" in caplog.text and HANGS_SYMPY in caplog.text
        assert is_equiv("\\sqrt{4}", "2^{1}", timeout_s=30, checker=checker) is True


def test_from_threads():
    cases = [("\\sqrt{8}", "2\\sqrt{2}", True), ("x^2", "x \\cdot x", True), ("\\sqrt{3}", "\\sqrt{2}", False)]
    results = {}

    def work(i):
        pred, gold, _ = cases[i % len(cases)]
        results[i] = is_equiv(pred, gold, timeout_s=30)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(6)] == [cases[i % 3][2] for i in range(6)]


def test_from_a_thread_a_hang_still_times_out():
    out = []
    t = threading.Thread(target=lambda: out.append(is_equiv(HANGS_SYMPY, "3", timeout_s=1.0)))
    t.start()
    t.join(timeout=20)
    assert out == [False]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_from_worker_processes(method):
    pairs = [("\\sqrt{8}", "2\\sqrt{2}"), ("x^2", "x \\cdot x"), ("\\sqrt{3}", "\\sqrt{2}"), ("1/2", "0.5")]
    is_equiv(*pairs[0])  # the parent's own worker exists before the fork: children must not share it
    with mp.get_context(method).Pool(2) as pool:
        assert pool.starmap(is_equiv, pairs) == [True, True, False, True]


def test_grade_many():
    preds = ["1/2", "3", None, "\\sqrt{8}", "\\frac{\\pi}{2}", HANGS_SYMPY]
    golds = ["0.5", "4", "1", "2\\sqrt{2}", "\\pi/2", "3"]
    assert grade_many(preds, golds, workers=2, timeout_s=1.0, progress=False) == [
        True, False, False, True, True, False]
    with pytest.raises(ValueError, match="2 predictions but 1 gold"):
        grade_many(["1", "2"], ["1"])


# --- the real references --------------------------------------------------------------------------------


def test_math500_reference_answers_are_recovered(shared_data):
    problems = load_benchmark("math500")
    preds = [extract_answer(p.solution, "latex") for p in problems]
    ok = grade_many(preds, [p.answer for p in problems], workers=2, progress=False)
    failures = [(p.id, pred, p.answer) for p, pred, good in zip(problems, preds, ok) if not good]
    assert len(failures) <= 2, failures


def test_gsm8k_hash_answers_are_extracted_exactly(shared_data):
    for split in ("train", "test"):
        raw = [line for line in (shared_data / "gsm8k" / f"{split}.jsonl").read_text().splitlines()]
        problems = load_benchmark("gsm8k", split)
        assert len(raw) == len(problems)
        for line, p in zip(raw, problems):
            import json

            hashes = json.loads(line)["answer"].split("####")[-1].strip()
            if split == "test":  # the raw text with its #### line
                assert extract_answer(json.loads(line)["answer"], "numeric") == hashes
            assert extract_answer(p.solution, "numeric") == hashes == p.answer


def _mismatched(problems):
    """Each solution's extracted answer against the next problem's gold, where the two golds differ."""
    pairs = [(extract_answer(p.solution, p.answer_kind), q.answer)
             for p, q in zip(problems, problems[1:] + problems[:1]) if p.answer != q.answer]
    return [a for a, _ in pairs], [b for _, b in pairs]


@pytest.mark.parametrize("name", ["math500", "gsm8k"])
def test_another_problems_answer_is_judged_wrong(shared_data, name):
    preds, golds = _mismatched(load_benchmark(name))
    judged_equal = grade_many(preds, golds, workers=2, progress=False)
    assert len(preds) > 490
    assert sum(judged_equal) <= 0.01 * len(preds), [
        (p, g) for p, g, e in zip(preds, golds, judged_equal) if e]


def test_every_math_test_answer_is_extracted(shared_data):
    problems = load_benchmark("math")
    assert len(problems) == 5000
    preds = [extract_answer(p.solution, "latex") for p in problems]
    assert all(preds)
    assert all(grade_many(preds, [p.answer for p in problems], workers=2, progress=False))


@pytest.mark.parametrize("text, expected", [
    ("a\nThe answer is 3.\nExample 2.\nThe answer is 4.", "a\nThe answer is 3."),
    ("x = 2\nThe answer is \\boxed{2}.\nmore", "x = 2\nThe answer is \\boxed{2}."),
    ("\\boxed{5} then\nthe answer is 6", "\\boxed{5} then"),
    ("no answer here\n2 + 2 = 4", "no answer here\n2 + 2 = 4"),
    ("The answer is 7", "The answer is 7"),
])
def test_first_answer_line(text, expected):
    assert first_answer_line(text) == expected
