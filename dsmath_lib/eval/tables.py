"""What notebooks 04, 05 and 07 show of evaluation runs: item logs, tables, Figure 7, the paper's numbers, metrics.

    from dsmath_lib.eval import tables
    runs = evaluate_checkpoints(...)                       # list[EvalRun] (eval.evaluate)
    tables.save_items(runs, folder)                        # <folder>/items_<checkpoint>_<benchmark>_<mode>.jsonl
    tables.accuracy_table(runs); tables.level_table(runs); tables.curves_table(runs)
    tables.plot_k_curves(tables.curves_table(runs))        # Figure 7's layout
    tables.paper_comparison(tables.accuracy_table(runs))   # the paper's Table 5 beside ours
    tables.tracker_metrics(runs); tables.conclusion(tables.accuracy_table(runs))

Greedy accuracy carries a 95% percentile bootstrap interval over problems (eval.intervals); Maj@K and
Pass@K come from each run's samples (eval.records). Our benchmarks are mapped onto the paper's GSM8K / MATH
columns by name (PAPER_COLUMN): the columns share a name, not a test set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dsmath_lib.eval.metrics import bootstrap_ci
from dsmath_lib.eval.records import EvalRun
from dsmath_lib.paper_numbers import TABLE5

SETTING = {"cot-fewshot": "few-shot CoT", "cot-chat": "CoT", "pot": "PoT", "tool-chat": "tool-integrated"}
PAPER_COLUMN = {"synth-gsm": "GSM8K", "gsm8k": "GSM8K", "synth-math": "MATH", "math": "MATH", "math500": "MATH"}
PAPER_TABLE5 = TABLE5  # docs/PAPER.md §6 (Table 5) and Table 2's base row


def save_items(runs: Sequence[EvalRun], folder: str | Path) -> list[Path]:
    """Write each run's records to <folder>/items_<checkpoint>_<benchmark>_<mode>.jsonl (one Record a line)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        path = folder / f"items_{run.checkpoint}_{run.benchmark}_{run.mode}.jsonl"
        path.write_text("".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in run.records))
        written.append(path)
    return written


def accuracy_table(runs: Sequence[EvalRun], seed: int = 0) -> pd.DataFrame:
    """One row per run: greedy accuracy with its 95% bootstrap CI, and Maj@K / Pass@K at the largest K."""
    rows = []
    for run in runs:
        greedy = [r.score for r in run.greedy()]
        lo, hi = bootstrap_ci(greedy, seed=seed) if greedy else (float("nan"), float("nan"))
        rows.append({"checkpoint": run.checkpoint, "benchmark": run.benchmark, "mode": run.mode,
                     "problems": len(greedy), "greedy": float(np.mean(greedy)) if greedy else float("nan"),
                     "ci_low": lo, "ci_high": hi, "max_k": run.ks[-1] if run.ks else 0,
                     "maj@max_k": run.maj[-1] if run.maj else float("nan"),
                     "pass@max_k": run.pass_[-1] if run.pass_ else float("nan")})
    return pd.DataFrame(rows)


def level_table(runs: Sequence[EvalRun]) -> pd.DataFrame:
    """Greedy accuracy per difficulty level: one row per (checkpoint, benchmark, mode, level)."""
    greedy = pd.DataFrame([r.to_dict() for run in runs for r in run.greedy()])
    if greedy.empty:
        return pd.DataFrame(columns=["checkpoint", "benchmark", "mode", "level", "problems", "greedy"])
    greedy["level"] = greedy["level"].fillna(0).astype(int)  # 0: the source gives no level
    return (greedy.groupby(["checkpoint", "benchmark", "mode", "level"], sort=True)["score"]
            .agg(problems="size", greedy="mean").reset_index())


def curves_table(runs: Sequence[EvalRun]) -> pd.DataFrame:
    """Maj@K and Pass@K in long form: one row per (checkpoint, benchmark, mode, K)."""
    return pd.DataFrame([{"checkpoint": run.checkpoint, "benchmark": run.benchmark, "mode": run.mode, "k": k,
                          "maj@k": m, "pass@k": p} for run in runs for k, m, p in zip(run.ks, run.maj, run.pass_)],
                        columns=["checkpoint", "benchmark", "mode", "k", "maj@k", "pass@k"])


def plot_k_curves(curves: pd.DataFrame):
    """Figure 7's layout: one panel per benchmark; per checkpoint and mode, Maj@K (solid) and Pass@K
    (dashed) against K on a log2 axis."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(curves["benchmark"])) or ["(no samples)"]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        panel = curves[curves["benchmark"] == name]
        for i, ((ckpt, mode), line) in enumerate(panel.groupby(["checkpoint", "mode"])):
            ax.plot(line["k"], 100 * line["maj@k"], "-o", color=f"C{i}", ms=3, label=f"{ckpt} {mode} Maj@K")
            ax.plot(line["k"], 100 * line["pass@k"], "--s", color=f"C{i}", ms=3, label=f"{ckpt} {mode} Pass@K")
        ks = sorted(set(panel["k"]))
        top = 100 * float(panel[["maj@k", "pass@k"]].to_numpy().max()) if len(panel) else 0.0
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        # small models score a few percent: a 0-100 axis would flatten every curve onto the floor
        ax.set(title=name, xlabel="K (samples)", ylabel="accuracy (%)", ylim=(-1, min(100, max(5.0, 1.15 * top))))
        if len(panel):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def paper_comparison(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 5 (and Table 2's base row) beside our greedy accuracies, in %, one row per
    (source, setting, model); our benchmarks are mapped onto the paper's GSM8K / MATH columns."""
    paper = pd.DataFrame(PAPER_TABLE5, columns=["setting", "model", "GSM8K", "MATH"]).assign(
        source="paper (7B, real GSM8K / MATH)")
    ours = accuracy.assign(setting=accuracy["mode"].map(SETTING), column=accuracy["benchmark"].map(PAPER_COLUMN),
                           value=100 * accuracy["greedy"])
    ours = ours.pivot_table(index=["setting", "checkpoint"], columns="column", values="value", sort=False)
    ours = ours.reset_index().rename(columns={"checkpoint": "model"}).assign(source="ours (simulated world)")
    frame = pd.concat([paper, ours], ignore_index=True)
    return frame[["source", "setting", "model"] + [c for c in ("GSM8K", "MATH") if c in frame]].round(1)


def tracker_metrics(runs: Sequence[EvalRun]) -> dict[str, float]:
    """Flat metrics for wandb: <checkpoint>/<benchmark>/<mode>/{greedy, maj@K, pass@K}.

    >>> from dsmath_lib.eval.records import Record
    >>> record = Record("init", "b", "b/0", 1, None, "cot-chat", "greedy", 0, "", "1", "1", 1.0)
    >>> tracker_metrics([EvalRun("init", "b", "cot-chat", [record], [1], [0.5], [0.5])])
    {'init/b/cot-chat/greedy': 1.0, 'init/b/cot-chat/maj@1': 0.5, 'init/b/cot-chat/pass@1': 0.5}
    """
    out = {}
    for run in runs:
        key = f"{run.checkpoint}/{run.benchmark}/{run.mode}"
        greedy = [r.score for r in run.greedy()]
        if greedy:
            out[f"{key}/greedy"] = float(np.mean(greedy))
        for k, m, p in zip(run.ks, run.maj, run.pass_):
            out[f"{key}/maj@{k}"], out[f"{key}/pass@{k}"] = float(m), float(p)
    return out


def conclusion(accuracy: pd.DataFrame) -> str:
    """A sentence per run read from the accuracy table, for the notebook's closing cell."""
    lines = []
    for r in accuracy.to_dict("records"):
        line = (f"{r['checkpoint']} on {r['benchmark']} ({r['mode']}): greedy {100 * r['greedy']:.1f}% "
                f"[95% CI {100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}] over {r['problems']} problems")
        if r["max_k"]:
            line += (f"; Maj@{r['max_k']} {100 * r['maj@max_k']:.1f}%, Pass@{r['max_k']} {100 * r['pass@max_k']:.1f}% "
                     f"(Pass@K minus Maj@K: {100 * (r['pass@max_k'] - r['maj@max_k']):+.1f} points)")
        lines.append(line + ".")
    return "\n".join(lines)
