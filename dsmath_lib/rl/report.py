"""What notebook 05 shows of a GRPO run: its folder name and its training curves.

    from dsmath_lib.rl.report import run_folder, plot_training
    out = run_folder(artifacts / "runs", params.grpo, instruct_checkpoint, params.seed)   # runs/grpo-<digest>
    plot_training(pd.DataFrame(result.history), pd.DataFrame(result.evals))              # a 4-panel figure

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
    """runs_dir/grpo-<loss_type>-<digest>: the digest covers cfg, seed and the start checkpoint's card."""
    from dsmath_lib.model import read_card

    blob = {"grpo": dataclasses.asdict(cfg), "seed": seed, "start": read_card(start)}
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return Path(runs_dir) / f"grpo-{cfg.loss_type}-{digest}"


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
