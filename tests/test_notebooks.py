"""Every notebook of the study runs at smoke scale, through the real runner, in a scratch copy of the repo;
a second run skips them all. The committed results/tiny/REPORT.md must come from the current params."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from dsmath_lib import paths
from dsmath_lib.config import load_params, params_path
from dsmath_lib.report import recorded_digest
from dsmath_lib.reproduce import discover_notebooks


def reproduce(root, *args):
    env = {**os.environ, "DSMATH_ROOT": str(root), "DSMATH_SHARED_DATA": str(paths.SHARED_DATA),
           "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "dsmath_lib.reproduce", "--scale", "smoke", *args],
                          env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(paths.NOTEBOOKS_DIR, root / "notebooks")
    shutil.copytree(paths.PARAMS_DIR, root / "params")
    first = reproduce(root)
    return root, first


def test_every_notebook_runs_at_smoke(smoke_study):
    root, first = smoke_study
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    names = [spec.name for spec in discover_notebooks(paths.NOTEBOOKS_DIR)]
    assert names, "no notebooks found"
    for name in names:
        executed = root / "results" / "smoke" / "notebooks" / f"{name}.ipynb"
        cells = json.loads(executed.read_text())["cells"]
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}"
    report = (root / "results" / "smoke" / "REPORT.md").read_text()
    assert all(f"## {name}" in report for name in names)


def test_second_run_skips_everything(smoke_study):
    root, first = smoke_study
    assert first.returncode == 0
    second = reproduce(root)
    assert second.returncode == 0, second.stderr[-3000:]
    n = len(discover_notebooks(paths.NOTEBOOKS_DIR))
    assert second.stdout.count("up to date, skipped") == n


def test_committed_tiny_report_matches_params():
    report = paths.results_dir("tiny") / "REPORT.md"
    if not report.exists():
        pytest.skip("results/tiny/REPORT.md not committed yet")
    assert recorded_digest(report) == load_params(params_path("tiny")).section_digest(), (
        "params/tiny.yaml changed since results/tiny was generated: rerun `make reproduce`")
