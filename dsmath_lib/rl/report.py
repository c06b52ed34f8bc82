"""What notebook 05 shows of a GRPO run: its folder name, its training curves and its conclusion.

    from dsmath_lib.rl.report import run_folder, plot_training
    out = run_folder(artifacts / "runs", params.grpo, instruct_checkpoint, params.seed)   # runs/grpo-<digest>
    plot_training(pd.DataFrame(result.history), pd.DataFrame(result.evals))              # a 4-panel figure
    print(conclusion(history, evals, paired_gain(runs, "rl", "instruct")))               # the closing cell's text

The run folder is named by a hash of the GRPO config, the seed and the starting checkpoint's card, so a
rerun with the same inputs resumes (or finds finished) the same run, and a changed config starts a new one
instead of resuming a run of other settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd

from dsmath_lib.config import GRPOConfig

PANELS = (("reward_mean", "reward (mean over G)"), ("accuracy", "held-out accuracy (greedy, %)"),
          ("kl", "KL to the reference (k3)"), ("response_length", "response length (tokens)"))


def run_folder(runs_dir: str | Path, cfg: GRPOConfig, start: str | Path, seed: int) -> Path:
    """runs_dir/grpo-<variant>-<digest> (GRPOConfig.variant: the preset's name, else its fields); the digest
    covers cfg, seed and the start checkpoint's card."""
    from dsmath_lib.model import read_card

    blob = {"grpo": dataclasses.asdict(cfg), "seed": seed, "start": read_card(start)}
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return Path(runs_dir) / f"grpo-{cfg.variant}-{digest}"


def plot_training(history: pd.DataFrame, evals: pd.DataFrame):
    """Reward, held-out accuracy (one line per benchmark and overall), KL and response length against step."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.3))
    for ax, (key, title) in zip(axes, PANELS):
        if key == "accuracy":
            for column in [c for c in evals.columns if c.startswith("accuracy")] if len(evals) else []:
                ax.plot(evals["step"], 100 * evals[column], "-o", ms=3, label=column.replace("accuracy/", ""))
            if len(evals):
                ax.legend(fontsize=7)
        elif key in history:
            ax.plot(history["step"], history[key], "-", lw=1.2)
        ax.set(title=title, xlabel="step")
    fig.tight_layout()
    return fig


def _first_last(frame: pd.DataFrame, column: str) -> tuple[tuple[int, float], tuple[int, float]] | None:
    """(step, value) of the first and last non-missing value of a column, or None."""
    if column not in frame or "step" not in frame:
        return None
    part = frame[["step", column]].dropna()
    if part.empty:
        return None
    return (int(part["step"].iloc[0]), float(part[column].iloc[0])), (int(part["step"].iloc[-1]), float(part[column].iloc[-1]))


def _first_last_windows(frame: pd.DataFrame, column: str) -> tuple[tuple[int, int, float], ...] | None:
    """(first step, last step, mean) of a column over the first and the last fifth of the steps (at least one
    step each), or None: one step's batch mean is too noisy to compare the start and end of a run with.

    >>> _first_last_windows(pd.DataFrame({"step": range(1, 11), "r": [0.1] * 2 + [0.5] * 6 + [0.3] * 2}), "r")
    ((1, 2, 0.1), (9, 10, 0.3))
    """
    if column not in frame or "step" not in frame:
        return None
    part = frame[["step", column]].dropna()
    if part.empty:
        return None
    k = max(1, len(part) // 5)
    head, tail = part.iloc[:k], part.iloc[-k:]
    return tuple((int(w["step"].iloc[0]), int(w["step"].iloc[-1]), round(float(w[column].mean()), 6))
                 for w in (head, tail))


def conclusion(history: pd.DataFrame, evals: pd.DataFrame, gains: pd.DataFrame,
               all_equal: str = "zero_std_share") -> str:
    """The notebook's conclusion as markdown, read from the run's history and evals (trainer.GRPOResult) and
    eval.table5.paired_gain: reward over the first and the last fifth of the steps, the mean share of groups whose G rewards are
    all equal (zero advantage, so no gradient), held-out accuracy at the first and last evaluation, and each
    RL-minus-Instruct gain with its paired 95% interval and whether it is resolved.

    >>> history = pd.DataFrame({"step": [1, 2, 3], "reward_mean": [0.05, 0.1, 0.2], "zero_std_share": [0.9, 0.8, 0.7]})
    >>> evals = pd.DataFrame({"step": [0, 3], "accuracy": [0.04, 0.06]})
    >>> gains = pd.DataFrame({"benchmark": ["synth-gsm"], "setting": ["CoT"], "gain": [2.0], "ci_low": [-1.0],
    ...                       "ci_high": [5.0], "problems": [50], "resolved": [False]})
    >>> print(conclusion(history, evals, gains))
    - **Reward** (mean over the G outputs, averaged over the first and last fifth of the steps, as one step's batch is small): 0.050 over step 1, 0.200 over step 3.
    - **All-equal groups**: 80.0% of groups on average over 3 steps had G equal rewards, so a zero advantage.
    - **Held-out accuracy** (greedy CoT): 4.0% at step 0, 6.0% at step 3.
    - **RL minus Instruct** (top-1, paired 95% CI over the same problems): synth-gsm CoT +2.0 points [-1.0, +5.0] over 50 problems, not resolved (the interval spans 0). 0 of 1 gains resolved.
    """
    lines = []
    reward = _first_last_windows(history, "reward_mean")
    if reward:
        (a0, b0, r0), (a1, b1, r1) = reward
        span = [f"step {a}" if a == b else f"steps {a}-{b}" for a, b in ((a0, b0), (a1, b1))]
        lines.append(f"- **Reward** (mean over the G outputs, averaged over the first and last fifth of the steps, "
                     f"as one step's batch is small): {r0:.3f} over {span[0]}, {r1:.3f} over {span[1]}.")
    if all_equal in history and history[all_equal].notna().any():
        share = history[all_equal].dropna()
        lines.append(f"- **All-equal groups**: {100 * share.mean():.1f}% of groups on average over {len(share)} steps "
                     "had G equal rewards, so a zero advantage.")
    accuracy = _first_last(evals, "accuracy")
    if accuracy:
        (s0, a0), (s1, a1) = accuracy
        lines.append(f"- **Held-out accuracy** (greedy CoT): {100 * a0:.1f}% at step {s0}, {100 * a1:.1f}% at step {s1}.")
    parts = [f"{g['benchmark']} {g['setting']} {g['gain']:+.1f} points [{g['ci_low']:+.1f}, {g['ci_high']:+.1f}] over "
             f"{g['problems']} problems, " + ("resolved (the interval excludes 0)" if g["resolved"]
                                             else "not resolved (the interval spans 0)")
             for g in gains.to_dict("records")]
    resolved = int(gains["resolved"].sum()) if len(gains) else 0
    lines.append("- **RL minus Instruct** (top-1, paired 95% CI over the same problems): "
                 + ("; ".join(parts) if parts else "no paired gain measured") + f". {resolved} of {len(parts)} gains resolved.")
    return "\n".join(lines)
