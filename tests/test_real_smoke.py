"""The real-smoke scale: every notebook runs on the real GSM8K / MATH500 files and web pages in ../shared/data
and the fixture's pretrained-format checkpoint, through the real runner, in a scratch copy of the repo (the gpu
scale's code path, on a CPU). Skipped when ../shared/data is absent."""

from study_runs import check_study, reproduce, scratch_repo


def test_every_notebook_runs_at_real_smoke(shared_data, tmp_path):
    root = scratch_repo(tmp_path)
    run = reproduce(root, "real-smoke")
    check_study(root, "real-smoke", run)
    assert (root / "artifacts" / "real-smoke" / "fixture" / "model" / "config.json").is_file()
