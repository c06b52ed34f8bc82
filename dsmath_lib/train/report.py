"""The training-loss figure of a run's history (notebooks 04 and 02-03 show it).

    from dsmath_lib.train.report import plot_history
    plot_history(pd.DataFrame(result.history), "SFT loss (response tokens)")
"""

from __future__ import annotations

import pandas as pd


def plot_history(history: pd.DataFrame, title: str, smooth: int = 10):
    """Loss against optimiser step: the raw per-step loss and its running mean over `smooth` steps,
    with the learning rate on a second axis."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    if len(history):
        ax.plot(history["step"], history["loss"], lw=0.8, alpha=0.4, color="C0", label="loss")
        ax.plot(history["step"], history["loss"].rolling(smooth, min_periods=1).mean(), color="C0",
                label=f"running mean ({smooth} steps)")
        lr = ax.twinx()
        lr.plot(history["step"], history["lr"], color="C1", lw=1, label="learning rate")
        lr.set_ylabel("learning rate", color="C1")
        ax.legend(fontsize=7, loc="upper right")
    ax.set(title=title, xlabel="optimiser step", ylabel="loss (nats / token)")
    fig.tight_layout()
    return fig
