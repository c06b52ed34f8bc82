"""Evaluation: answer extraction and grading, prompting modes, the sandbox, metrics, and the one evaluation path.

    from dsmath_lib.eval.grading import extract_answer, is_equiv, grade_many
    from dsmath_lib.eval.metrics import pass_at_k, maj_at_k_curve, bootstrap_ci
    from dsmath_lib.eval.prompting import solve
    from dsmath_lib.eval.sandbox import run_python
    from dsmath_lib.eval.evaluate import EvalSpec, evaluate, evaluate_checkpoints   # the cached loop

Modules, one job each: grading (extraction and equivalence), prompting (the four modes), sandbox
(model-written code), code (the code benchmark), nll (the gold solution's NLL), metrics (Pass@K, Maj@K,
bootstrap), intervals (the interval of a measure and of a paired difference, and their format), records
(the per-item Record and the runs built from records), checkpoints (discovery, loading, content digest,
the model as a generate_fn), benchmarks (test sets and few-shot examples), evaluate (the cached loop every
notebook and the GRPO trainer call), tables and table5 (what the notebooks show). The chat and tool text
the modes prompt in is dsmath_lib.chat's, the boxed-answer format dsmath_lib.problem's.

The package imports nothing itself, so `python -m dsmath_lib.eval.grading --worker` (the math-verify
worker process) starts without pulling in the other modules.
"""
