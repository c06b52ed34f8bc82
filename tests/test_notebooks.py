"""Every notebook of the study runs at smoke scale, through the real runner, in a scratch copy of the repo;
a second run skips them all. The committed results/tiny/REPORT.md must come from the current params."""

import pytest
from study_runs import check_study, reproduce, scratch_repo

from dsmath_lib import paths
from dsmath_lib.config import load_params, params_path
from dsmath_lib.report import recorded_digest
from dsmath_lib.reproduce import discover_notebooks


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    root = scratch_repo(tmp_path_factory.mktemp("repo"))
    return root, reproduce(root, "smoke")


def test_every_notebook_runs_at_smoke(smoke_study):
    root, first = smoke_study
    check_study(root, "smoke", first)


def test_second_run_skips_everything(smoke_study):
    root, first = smoke_study
    assert first.returncode == 0
    second = reproduce(root, "smoke")
    assert second.returncode == 0, second.stderr[-3000:]
    n = len(discover_notebooks(paths.NOTEBOOKS_DIR))
    assert second.stdout.count("up to date, skipped") == n


def test_committed_tiny_report_matches_params():
    report = paths.results_dir("tiny") / "REPORT.md"
    if not report.exists():
        pytest.skip("results/tiny/REPORT.md not committed yet")
    assert recorded_digest(report) == load_params(params_path("tiny")).section_digest(), (
        "params/tiny.yaml changed since results/tiny was generated: rerun `make reproduce`")
