"""How long grading the 5,000 MATH test references takes, serially and with the worker pool.

    python bench/bench_grading.py                  # all 5,000; about 5 minutes on 2 cores
    python bench/bench_grading.py --limit 500 --workers 2 --symbolic

Three workloads over the MATH test split (../shared/data/math/math_test.jsonl):
- "matched": each reference solution's extracted answer against its own gold answer (the grading of a
  perfect model: almost everything is decided by the numeric / string tiers);
- "mismatched": each solution's answer against the next problem's gold, where they differ (the grading
  of a wrong model: many pairs reach math-verify, the expensive tier);
- "symbolic" (with --symbolic): the matched pairs sent straight to math-verify, skipping the cheap tiers.
"serial" grades one pair at a time through is_equiv with one math-verify worker; "pool" is grade_many with
--workers workers. Worker start-up (about a second each: sympy's import) is included in both.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dsmath_lib.data import load_benchmark  # noqa: E402
from dsmath_lib.eval.grading import SymbolicChecker, extract_answer, grade_many, is_equiv  # noqa: E402


def serial(preds, golds, symbolic_only: bool) -> tuple[float, int]:
    """Seconds and number judged equal, one pair at a time."""
    start = time.perf_counter()
    with SymbolicChecker(size=1) as checker:
        if symbolic_only:
            equal = sum(bool(checker.check(p, g)) for p, g in zip(preds, golds))
        else:
            equal = sum(is_equiv(p, g, checker=checker) for p, g in zip(preds, golds))
    return time.perf_counter() - start, equal


def pooled(preds, golds, workers: int, symbolic_only: bool) -> tuple[float, int]:
    """Seconds and number judged equal with `workers` math-verify processes."""
    start = time.perf_counter()
    if symbolic_only:
        from concurrent.futures import ThreadPoolExecutor

        with SymbolicChecker(size=workers) as checker, ThreadPoolExecutor(workers) as pool:
            equal = sum(bool(v) for v in pool.map(checker.check, preds, golds))
    else:
        equal = sum(grade_many(preds, golds, workers=workers, progress=False))
    return time.perf_counter() - start, equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--symbolic", action="store_true", help="also time math-verify on every matched pair")
    args = parser.parse_args()

    problems = load_benchmark("math", limit=args.limit)
    preds = [extract_answer(p.solution, "latex") for p in problems]
    golds = [p.answer for p in problems]
    nxt = problems[1:] + problems[:1]
    mism = [(a, q.answer) for a, p, q in zip(preds, problems, nxt) if p.answer != q.answer]
    workloads = {"matched": (preds, golds, False),
                 "mismatched": ([a for a, _ in mism], [b for _, b in mism], False)}
    if args.symbolic:
        workloads["symbolic"] = (preds, golds, True)

    print(f"MATH test: {len(problems)} problems, {os.cpu_count()} cores, pool of {args.workers} workers")
    print(f"{'workload':<12}{'pairs':>7}{'serial s':>10}{'pool s':>9}{'speed-up':>9}{'equal':>8}")
    for name, (p, g, symbolic_only) in workloads.items():
        t_serial, eq_serial = serial(p, g, symbolic_only)
        t_pool, eq_pool = pooled(p, g, args.workers, symbolic_only)
        flag = "" if eq_serial == eq_pool else f"  (serial judged {eq_serial} equal)"
        print(f"{name:<12}{len(p):>7}{t_serial:>10.1f}{t_pool:>9.1f}{t_serial / t_pool:>8.1f}x{eq_pool:>8}{flag}")


if __name__ == "__main__":
    main()
