"""Weights & Biases logging behind one small object that does nothing when tracking is off or broken.

    tracker = start_run(params, name="07_evaluation")
    tracker.log({"accuracy/synth-gsm": 0.31}, step=0)
    tracker.log_figure("maj_pass_at_k", fig)
    tracker.log_table("accuracy", dataframe)
    tracker.finish()

Offline by default: WANDB_MODE is set to "offline" unless the user set it (WANDB_MODE=online after
`wandb login` sends runs to the server). Runs go under <root>/wandb/. A missing wandb package, a failed
`wandb.init` or a failed log call is a warning, never a failed notebook: tracking is a side effect.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from dsmath_lib import paths
from dsmath_lib.config import Params

log = logging.getLogger(__name__)


class Tracker:
    """Logs to a wandb run; every method is a no-op when `run` is None."""

    def __init__(self, run: Any = None):
        self.run = run

    @property
    def active(self) -> bool:
        return self.run is not None

    def log(self, metrics: dict[str, Any], step: int | None = None) -> None:
        self._call("log", metrics, step=step)

    def log_figure(self, name: str, figure: Any) -> None:
        if self.active:
            import wandb

            self._call("log", {name: wandb.Image(figure)})

    def log_table(self, name: str, frame: Any) -> None:
        if self.active:
            import wandb

            self._call("log", {name: wandb.Table(dataframe=frame.reset_index(drop=True))})

    def finish(self) -> None:
        self._call("finish")
        self.run = None

    def _call(self, method: str, *args, **kwargs) -> None:
        if not self.active:
            return
        try:
            getattr(self.run, method)(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - tracking must never fail a run
            warnings.warn(f"wandb {method} failed, tracking switched off: {err}", stacklevel=3)
            self.run = None


def start_run(params: Params, name: str, config: dict | None = None) -> Tracker:
    """Start a wandb run for one notebook (group = scale), or return a Tracker that does nothing."""
    if not params.tracking.enabled:
        return Tracker()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    try:
        import wandb

        run = wandb.init(
            project=params.tracking.project,
            entity=params.tracking.entity or None,
            group=params.scale,
            name=f"{params.scale}/{name}",
            job_type=name,
            config={"params": params.to_dict(), **(config or {})},
            dir=str(paths.ROOT),
            reinit="finish_previous",
        )
    except Exception as err:  # noqa: BLE001 - no network, no login, no package: carry on untracked
        warnings.warn(f"wandb unavailable, this run is not tracked: {err}", stacklevel=2)
        return Tracker()
    log.info("wandb run %s (mode %s)", run.name, os.environ["WANDB_MODE"])
    return Tracker(run)
