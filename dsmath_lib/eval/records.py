"""The per-item evaluation record, one schema for every caller, and the runs (with Maj@K / Pass@K) built from records.

    from dsmath_lib.eval.records import Record, EvalRun, runs_from_records
    records = evaluate(checkpoint, spec, cache_dir)        # list[Record] (dsmath_lib.eval.evaluate)
    pd.DataFrame(records)                                  # one column per field below
    runs = runs_from_records(records, params.eval, seed=params.seed)   # one EvalRun per (checkpoint, benchmark, mode)
    runs[0].ks, runs[0].maj, runs[0].pass_                 # Figure 7's curves, when the run has samples

A Record is one answer to one item: a problem under one prompting mode and decoding, or one NLL or code
measurement. Its fields:
    checkpoint  the caller's name for the model ("instruct", an ablation run's folder, "policy")
    benchmark   the item's benchmark ("synth-gsm", "gsm8k", "synth-code")
    id, level, subject   the item's id, difficulty level (None when the source gives none) and subject/family
    mode        "cot-fewshot" | "cot-chat" | "pot" | "tool-chat" (eval.prompting), "nll" or "code"
    decoding    "greedy" (one answer per item), "sample" (n_samples answers at sampling.temperature),
                "none" (NLL: nothing is decoded)
    sample      j of the item's samples (0 for greedy and NLL)
    output      what the model (and, in tool mode, the sandbox) wrote after the prompt ("" for NLL)
    answer      the extracted final answer (None when there is none, and for NLL and code)
    gold        the gold answer ("" for code, whose gold is its tests)
    score       0.0 / 1.0 for accuracy modes and code pass@1; nats per token of the gold solution for NLL
    executions  programs run (tool-chat: up to eval.max_executions; pot and code: 1)
`correct` is derived (score == 1 in an accuracy mode). Maj@K and Pass@K are not per-record quantities: an
EvalRun computes them from the records of its samples, with the formulas of eval.metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dsmath_lib.config import EvalConfig
from dsmath_lib.eval.grading import is_equiv
from dsmath_lib.eval.metrics import answer_classes, maj_at_k_curve, maj_at_k_problem, pass_at_k_curve

NLL = "nll"  # the mode of the gold solution's NLL per token (a departure: see eval.nll)
CODE = "code"  # the mode of the code benchmark's pass@1
DECODINGS = ("greedy", "sample", "none")


@dataclass(frozen=True)
class Record:
    """One answer to one evaluation item (the fields are described in the module docstring)."""

    checkpoint: str
    benchmark: str
    id: str
    level: int | None
    subject: str | None
    mode: str
    decoding: str
    sample: int
    output: str
    answer: str | None
    gold: str
    score: float
    executions: int = 0

    @property
    def correct(self) -> bool:
        """Whether an accuracy-mode answer is right (always False for NLL, whose score is a loss).

        >>> Record("m", "b", "b/0", 1, None, "cot-chat", "greedy", 0, "\\\\boxed{2}", "2", "2", 1.0).correct
        True
        """
        return self.mode != NLL and self.score == 1.0

    def to_dict(self) -> dict:
        """The record as a JSON-ready dict (the field order above)."""
        return asdict(self)


def k_values(n_samples: int, max_k: int) -> list[int]:
    """K on Figure 7's log2 axis: 1, 2, 4, ... up to min(n_samples, max_k), which is always included.

    >>> k_values(64, 64), k_values(12, 64), k_values(0, 8)
    ([1, 2, 4, 8, 16, 32, 64], [1, 2, 4, 8, 12], [])
    """
    top = min(n_samples, max_k)
    ks = [2 ** i for i in range(top.bit_length()) if 2 ** i <= top] if top > 0 else []
    return ks + [top] if ks and ks[-1] != top else ks


@dataclass
class EvalRun:
    """One (checkpoint, benchmark, mode): its records and the Maj@K / Pass@K curves of its samples over ks."""

    checkpoint: str
    benchmark: str
    mode: str
    records: list[Record]  # greedy attempts first (decoding "greedy"), then samples (decoding "sample")
    ks: list[int] = field(default_factory=list)
    maj: list[float] = field(default_factory=list)  # Maj@K, aligned with ks
    pass_: list[float] = field(default_factory=list)  # Pass@K, aligned with ks
    maj_top: list[float] = field(default_factory=list)  # per problem: Maj@K at the largest K (mean = maj[-1])

    def greedy(self) -> list[Record]:
        """The run's one-per-problem records (greedy answers; NLL's undecoded scores), in benchmark order."""
        return [r for r in self.records if r.decoding != "sample"]

    def greedy_correct(self) -> list[bool]:
        """Whether each greedy answer is right, in benchmark order."""
        return [r.correct for r in self.greedy()]

    def per_problem(self) -> pd.Series:
        """The greedy score of each problem, indexed by id, in benchmark order (paired comparisons)."""
        greedy = self.greedy()
        return pd.Series([r.score for r in greedy], index=[r.id for r in greedy], dtype=float)


def runs_from_records(records: Sequence[Record], cfg: EvalConfig, seed: int = 0) -> list[EvalRun]:
    """Group records into one EvalRun per (checkpoint, benchmark, mode), in the order they first appear; a
    run with samples gets Maj@K and Pass@K over k_values(samples per problem, cfg.max_k)."""
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.checkpoint, r.benchmark, r.mode), []).append(r)
    runs = [EvalRun(*key, rs) for key, rs in groups.items()]
    for run in runs:
        _add_curves(run, cfg, seed)
    return runs


def _add_curves(run: EvalRun, cfg: EvalConfig, seed: int) -> None:
    """Pass@K from the (P, n) correctness of the samples; Maj@K from their answer classes (problem i's
    resampling seed is (seed, i), so maj_top holds the same draws as the curve's last point)."""
    samples: dict[str, list[Record]] = {}
    for r in run.records:
        if r.decoding == "sample":
            samples.setdefault(r.id, []).append(r)
    if not samples:
        return
    ids = [r.id for r in run.greedy()] or list(samples)
    n = len(samples[ids[0]])
    if any(len(samples.get(i, ())) != n for i in ids):
        raise ValueError(f"{run.checkpoint} {run.benchmark} {run.mode}: every problem needs {n} samples")
    rows = [sorted(samples[i], key=lambda r: r.sample) for i in ids]
    run.ks = k_values(n, cfg.max_k)
    correct = np.array([[r.correct for r in row] for row in rows])  # (P, n)
    run.pass_ = pass_at_k_curve(correct, run.ks).tolist()  # (K,)
    equiv = functools.partial(is_equiv, timeout_s=cfg.grading_timeout_s)
    classes = [answer_classes([r.answer for r in row], row[0].gold, equiv=equiv) for row in rows]
    run.maj = maj_at_k_curve(classes, run.ks, resamples=cfg.maj_resamples, seed=seed).tolist()
    run.maj_top = [float(maj_at_k_problem(c, run.ks[-1:], cfg.maj_resamples, [seed, i])[0])
                   for i, c in enumerate(classes)]  # the same draws as maj_at_k_curve: bootstrap-ready
