"""Table 5's layout with intervals: per setting and model, top-1 and Maj@K per benchmark, paper beside ours.

    from dsmath_lib.eval.table5 import table5, top1_table, paired_gain, MODEL_LABELS
    runs = evaluate_checkpoints([instruct, rl], benchmarks, train, params, artifacts / "evals")   # eval.evaluate
    table5(runs)          # rows (setting, model); "GSM8K top-1 (ours)" = "12.5 [8.0, 17.0]", "(paper)" = 88.2, ...
    top1_table(runs)      # notebook 04: top-1 only, base (few-shot CoT) and Instruct (CoT, PoT, tool-integrated)
    paired_gain(runs, "rl", "instruct")   # RL minus Instruct per benchmark and mode, paired 95% interval

Top-1 is greedy accuracy; Maj@K is the majority vote over K = min(eval.n_samples, eval.max_k) samples at
sampling.temperature (the paper's self-consistency uses K = 64; it reports Maj@64 for the RL model on MATH
only, 60.9%). Both carry a 95% percentile bootstrap interval over problems. Our GSM8K / MATH columns are the
simulated world's synth-gsm / synth-math (gsm8k / math at gpu scale): the columns share a name, not a test set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from dsmath_lib.eval.intervals import interval, paired_difference
from dsmath_lib.eval.records import EvalRun
from dsmath_lib.eval.tables import PAPER_COLUMN, SETTING
from dsmath_lib.paper_numbers import MATH_MAJ64_RL, TABLE5

MODEL_LABELS = {"base": "DeepSeekMath-Base 7B", "instruct": "DeepSeekMath-Instruct 7B", "rl": "DeepSeekMath-RL 7B"}


def paper_value(setting: str, model: str, column: str, measure: str) -> str:
    """The paper's Table 5 number for a cell, or '-' when it reports none.

    >>> paper_value("CoT", "DeepSeekMath-RL 7B", "MATH", "top-1"), paper_value("CoT", "DeepSeekMath-RL 7B", "MATH", "Maj@K")
    ('51.7', '60.9')
    """
    if measure == "Maj@K":
        return f"{MATH_MAJ64_RL:.1f}" if (setting, model, column) == ("CoT", MODEL_LABELS["rl"], "MATH") else "-"
    for row_setting, row_model, gsm, math in TABLE5:
        if (row_setting, row_model) == (setting, model):
            value = {"GSM8K": gsm, "MATH": math}.get(column)
            return "-" if value is None else f"{value:.1f}"
    return "-"


def table5(runs: Sequence[EvalRun], labels: Mapping[str, str] = MODEL_LABELS, seed: int = 0) -> pd.DataFrame:
    """One row per (setting, checkpoint): top-1 and Maj@K per benchmark with 95% CIs, the paper's beside."""
    rows: dict[tuple[str, str], dict] = {}
    for run in runs:
        setting, column = SETTING.get(run.mode, run.mode), PAPER_COLUMN.get(run.benchmark, run.benchmark)
        label = labels.get(run.checkpoint, run.checkpoint)
        row = rows.setdefault((setting, run.checkpoint), {"setting": setting, "model": run.checkpoint,
                                                          "paper model": label})
        k = run.ks[-1] if run.ks else 0
        row[f"{column} top-1 (ours)"] = interval(run.greedy_correct(), seed)
        row[f"{column} top-1 (paper)"] = paper_value(setting, label, column, "top-1")
        row[f"{column} Maj@{k} (ours)"] = interval(run.maj_top, seed)
        row[f"{column} Maj@K (paper, K=64)"] = paper_value(setting, label, column, "Maj@K")
    return pd.DataFrame(list(rows.values()))


def top1_table(runs: Sequence[EvalRun], labels: Mapping[str, str] = MODEL_LABELS, seed: int = 0) -> pd.DataFrame:
    """One row per (checkpoint, mode), in the order of the runs: greedy top-1 per benchmark with its 95% CI
    ("(ours)") and the paper's number for the same setting and model ("(paper)", '-' where it has none)."""
    rows: dict[tuple[str, str], dict] = {}
    for run in runs:
        setting, column = SETTING.get(run.mode, run.mode), PAPER_COLUMN.get(run.benchmark, run.benchmark)
        row = rows.setdefault((run.checkpoint, run.mode), {"setting": setting, "model": run.checkpoint})
        row[f"{column} (ours)"] = interval([r.score for r in run.greedy()], seed)
        row[f"{column} (paper)"] = paper_value(setting, labels.get(run.checkpoint, run.checkpoint), column, "top-1")
    return pd.DataFrame(list(rows.values()))


def paired_gain(runs: Sequence[EvalRun], after: str, before: str, seed: int = 0) -> pd.DataFrame:
    """Top-1 of checkpoint `after` minus `before` per (benchmark, mode), on the same problems, in points,
    with a 95% paired bootstrap interval (intervals.paired_difference); 'resolved' when it excludes 0."""
    by = {(r.checkpoint, r.benchmark, r.mode): r for r in runs}
    rows = []
    for (checkpoint, benchmark, mode), run in by.items():
        other = by.get((before, benchmark, mode))
        if checkpoint != after or other is None:
            continue
        d = paired_difference(run.per_problem(), other.per_problem(), seed=seed)
        rows.append({"benchmark": benchmark, "setting": SETTING.get(mode, mode), "comparison": f"{after} - {before}",
                     "gain": round(100 * d.mean, 1), "ci_low": round(100 * d.ci_low, 1),
                     "ci_high": round(100 * d.ci_high, 1), "problems": d.problems, "resolved": d.resolved})
    return pd.DataFrame(rows)
