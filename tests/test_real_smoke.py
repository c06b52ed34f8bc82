"""The real-smoke scale: every notebook runs on the real GSM8K / MATH500 files and web pages in ../shared/data
and the fixture's pretrained-format checkpoint, through the real runner, in a scratch copy of the repo (the gpu
scale's code path, on a CPU). Skipped when ../shared/data is absent."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from dsmath_lib import paths
from dsmath_lib.reproduce import discover_notebooks


def reproduce(root):
    env = {**os.environ, "DSMATH_ROOT": str(root), "DSMATH_SHARED_DATA": str(paths.SHARED_DATA),
           "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "dsmath_lib.reproduce", "--scale", "real-smoke"],
                          env=env, capture_output=True, text=True, timeout=1800)


def test_every_notebook_runs_at_real_smoke(shared_data, tmp_path):
    shutil.copytree(paths.NOTEBOOKS_DIR, tmp_path / "notebooks")
    shutil.copytree(paths.PARAMS_DIR, tmp_path / "params")
    run = reproduce(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (tmp_path / "artifacts" / "real-smoke" / "fixture" / "model" / "config.json").is_file()
    names = [spec.name for spec in discover_notebooks(paths.NOTEBOOKS_DIR)]
    for name in names:
        executed = tmp_path / "results" / "real-smoke" / "notebooks" / f"{name}.ipynb"
        cells = json.loads(executed.read_text())["cells"]
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    report = (tmp_path / "results" / "real-smoke" / "REPORT.md").read_text()
    assert all(f"## {name}" in report for name in names)
