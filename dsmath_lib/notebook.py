"""What every notebook does first, in one call: its params, its outputs, its wandb run and the artifacts folder.

    from dsmath_lib.notebook import start_notebook
    params, out, tracker, artifacts = start_notebook(params_path, "04_sft")

`params_path` is the notebook's papermill parameter (the runner injects the scale's params file). `out`
writes the notebook's tables and figures for REPORT.md (report.NotebookOutputs, which clears the
notebook's earlier outputs), `tracker` is its wandb run or a Tracker that does nothing (tracking.start_run),
and `artifacts` is artifacts/<scale>/ (paths.artifacts_dir), where stages hand each other their files.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dsmath_lib import paths
from dsmath_lib.config import Params, load_params
from dsmath_lib.report import NotebookOutputs
from dsmath_lib.tracking import Tracker, start_run


class NotebookStart(NamedTuple):
    params: Params
    out: NotebookOutputs
    tracker: Tracker
    artifacts: Path


def start_notebook(params_path: str | Path, name: str) -> NotebookStart:
    """Load and validate the params file, and open the notebook's outputs and tracker (see the module doc)."""
    params = load_params(params_path)
    return NotebookStart(params, NotebookOutputs(params, name), start_run(params, name),
                         paths.artifacts_dir(params.scale))
