"""Scoring the pretraining arms: per-problem scores of every run, and the tables and curves the notebooks show.

    from dsmath_lib.pretraining import score_runs, results_table, paired_difference
    scores = score_runs(runs, spec, artifacts / "evals")     # Records (eval.records) + arm, seed
    results_table(scores, arms, TABLE1)                       # 'mean [low, high]' per measure, the paper beside
    paired_difference(scores, "final", "seed only")           # arm a minus arm b on the same problems

Scores are per problem (eval.evaluate's records, cached in artifacts/<scale>/evals by checkpoint content);
a table cell is the mean over problems of the seed-averaged score, with a 95% bootstrap interval over
problems, and `paired_difference` gives the interval of a difference between two arms on the same problems,
which is what tells an effect from noise (both from eval.intervals, as every table of the study).
Departure from the paper: our benchmarks are the world's (and GSM8K / MATH at gpu scale), a few hundred
problems each, so every cell carries its interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dsmath_lib.eval.evaluate import EvalSpec, evaluate
from dsmath_lib.eval.intervals import format_interval, seed_averaged, seed_averaged_interval
from dsmath_lib.eval.intervals import paired_difference as paired_interval
from dsmath_lib.eval.records import CODE, NLL
from dsmath_lib.eval.tables import PAPER_COLUMN
from dsmath_lib.pretraining.arms import Arm
from dsmath_lib.pretraining.runs import curve_checkpoints

SCORE_COLUMNS = ["benchmark", "mode", "id", "level", "score", "arm", "seed"]  # the scores CSV of 02 and 03


def score_runs(runs: Mapping[tuple[str, int], list[Path]], spec: EvalSpec, cache_dir: Path | None) -> pd.DataFrame:
    """eval.evaluate of `spec` on the final checkpoint of every run: its Records plus arm and seed, one row each."""
    frames = []
    for (arm, seed), stages in tqdm(runs.items(), desc="scoring runs"):
        records = evaluate(stages[-1], spec, cache_dir, name=Path(stages[-1]).parent.name)
        frames.append(pd.DataFrame(records).assign(arm=arm, seed=seed))
    return pd.concat(frames, ignore_index=True)


def score_curves(runs: Mapping[tuple[str, int], list[Path]], spec: EvalSpec, cache_dir: Path | None) -> pd.DataFrame:
    """The measures of `spec` at every learning-curve point of every run's last stage, plus `tokens`
    (counted over all stages, so a two-stage arm's curve starts where its first stage ended)."""
    from dsmath_lib.model import read_card

    frames = []
    for (arm, seed), stages in tqdm(runs.items(), desc="scoring curves"):
        before = sum(int(read_card(s).get("tokens", 0)) for s in stages[:-1])
        for tokens, folder in curve_checkpoints(stages[-1]):
            records = evaluate(folder, spec, cache_dir, name=f"{Path(stages[-1]).parent.name}@{tokens}")
            frames.append(pd.DataFrame(records).assign(arm=arm, seed=seed, tokens=before + tokens))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def measure_name(benchmark: str, mode: str) -> str:
    """The paper's column a (benchmark, mode) measure stands beside.

    >>> measure_name("synth-gsm", "cot-fewshot"), measure_name("synth-math", "pot"), measure_name("synth-gsm", "nll")
    ('GSM8K', 'MATH+Python', 'GSM8K NLL')
    """
    if mode == CODE:
        return "code pass@1"
    column = PAPER_COLUMN.get(benchmark, benchmark)
    return {"cot-fewshot": column, "pot": f"{column}+Python", NLL: f"{column} NLL"}.get(mode, f"{column} {mode}")


def results_table(scores: pd.DataFrame, arms: Sequence[Arm], paper: Mapping[str, Mapping[str, float]],
                  seed: int = 0) -> pd.DataFrame:
    """One row per arm: each measure as 'mean [low, high]' (accuracy in %, NLL in nats/token), the seeds it
    averages, and the paper's value of the same column beside it ('-' when the paper has no such row)."""
    rows = []
    for arm in arms:
        mine = scores[scores["arm"] == arm.name]
        row = {"setting": arm.name, "seeds": ", ".join(str(s) for s in sorted(mine["seed"].unique())),
               "paper row": arm.paper_row or "-"}
        for (benchmark, mode), part in mine.groupby(["benchmark", "mode"], sort=False):
            name, scale = measure_name(benchmark, mode), (1.0 if mode == NLL else 100.0)
            mean, lo, hi, _ = seed_averaged_interval(part, seed)
            row[f"{name} (ours)"] = format_interval(mean, lo, hi, scale)
            paper_key = {"code pass@1": "HumanEval"}.get(name, name)
            if mode != NLL:
                value = paper.get(arm.paper_row, {}).get(paper_key)
                row[f"{name} (paper)"] = "-" if value is None else f"{value:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(scores: pd.DataFrame, a: str, b: str, seed: int = 0) -> pd.DataFrame:
    """Arm a minus arm b on the problems both saw, per measure: the difference of seed-averaged per-problem
    scores, with a 95% paired bootstrap interval (eval.intervals); 'resolved' when the interval excludes 0."""
    rows = []
    for (benchmark, mode), part in scores.groupby(["benchmark", "mode"], sort=False):
        arms = set(part["arm"])
        if a not in arms or b not in arms:
            continue
        d = paired_interval(seed_averaged(part[part["arm"] == a]), seed_averaged(part[part["arm"] == b]), seed)
        scale = 1.0 if mode == NLL else 100.0
        rows.append({"measure": measure_name(benchmark, mode), "comparison": f"{a} minus {b}",
                     "difference": round(scale * d.mean, 2), "ci_low": round(scale * d.ci_low, 2),
                     "ci_high": round(scale * d.ci_high, 2), "problems": d.problems, "resolved": d.resolved})
    return pd.DataFrame(rows)


def seed_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each arm's mean per measure for every seed separately: how far seeds alone move a number."""
    frame = scores.assign(measure=[measure_name(b, m) for b, m in zip(scores["benchmark"], scores["mode"])])
    table = frame.groupby(["arm", "seed", "measure"], sort=False)["score"].mean().unstack("measure")
    return table.reset_index()


def curve_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Learning curves in long form: arm, tokens, measure, mean over seeds and problems."""
    if curves.empty:
        return pd.DataFrame(columns=["arm", "tokens", "measure", "value"])
    frame = curves.assign(measure=[measure_name(b, m) for b, m in zip(curves["benchmark"], curves["mode"])])
    return frame.groupby(["arm", "tokens", "measure"], sort=False)["score"].mean().rename("value").reset_index()


def plot_curves(table: pd.DataFrame):
    """Figure 3's layout: one panel per measure, one line per arm, against training tokens."""
    import matplotlib.pyplot as plt

    measures = list(dict.fromkeys(table["measure"])) or ["(no curve points)"]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.5 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        part = table[table["measure"] == measure]
        scale = 1.0 if measure.endswith("NLL") else 100.0
        for i, (arm, line) in enumerate(part.groupby("arm", sort=False)):
            ax.plot(line["tokens"], scale * line["value"], "-o", ms=3, color=f"C{i}", label=arm)
        ax.set(title=measure, xlabel="training tokens",
               ylabel="nats / token" if scale == 1.0 else "accuracy (%)")
        if len(part):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def mean_of(scores: pd.DataFrame, arm: str, measure: str) -> float:
    """One arm's seed- and problem-averaged value of a measure (as a fraction; NLL in nats)."""
    frame = scores[scores["arm"] == arm]
    keep = [measure_name(b, m) == measure for b, m in zip(frame["benchmark"], frame["mode"])]
    return float(np.mean(frame[keep]["score"])) if any(keep) else float("nan")
