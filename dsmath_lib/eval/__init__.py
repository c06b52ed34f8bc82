"""Evaluation: answer extraction and grading, Pass@K / Maj@K metrics, prompting modes and the code sandbox.

    from dsmath_lib.eval.grading import extract_answer, is_equiv, grade_many
    from dsmath_lib.eval.metrics import pass_at_k, maj_at_k_curve, bootstrap_ci
    from dsmath_lib.eval.prompting import solve
    from dsmath_lib.eval.sandbox import run_python

The package imports nothing itself, so `python -m dsmath_lib.eval.grading --worker` (the math-verify
worker process) starts without pulling in the other modules.
"""
