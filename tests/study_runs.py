"""The study run through the real runner in a scratch copy of the repo, and the checks of its outputs, shared by
tests/test_notebooks.py (smoke) and tests/test_real_smoke.py (real-smoke)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dsmath_lib import paths
from dsmath_lib.reproduce import discover_notebooks


def scratch_repo(root: Path) -> Path:
    """root with copies of the repo's notebooks/ and params/: what the runner reads (DSMATH_ROOT)."""
    shutil.copytree(paths.NOTEBOOKS_DIR, root / "notebooks")
    shutil.copytree(paths.PARAMS_DIR, root / "params")
    return root


def reproduce(root: Path, scale: str, *args: str) -> subprocess.CompletedProcess:
    """python -m dsmath_lib.reproduce --scale <scale> in `root`, offline, tracking offline."""
    env = {**os.environ, "DSMATH_ROOT": str(root), "DSMATH_SHARED_DATA": str(paths.SHARED_DATA),
           "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "dsmath_lib.reproduce", "--scale", scale, *args],
                          env=env, capture_output=True, text=True, timeout=1800)


def check_study(root: Path, scale: str, run: subprocess.CompletedProcess) -> None:
    """The run succeeded, no executed notebook holds an error output, and REPORT.md has every notebook's section."""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    names = [spec.name for spec in discover_notebooks(paths.NOTEBOOKS_DIR)]
    assert names, "no notebooks found"
    for name in names:
        executed = root / "results" / scale / "notebooks" / f"{name}.ipynb"
        cells = json.loads(executed.read_text())["cells"]
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    report = (root / "results" / scale / "REPORT.md").read_text()
    assert all(f"## {name}" in report for name in names)
