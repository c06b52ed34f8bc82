"""The Makefile's rules as `make -n` prints them: `make lab` adds --allow-root only for root (GPU containers and
runners usually run as root, where JupyterLab refuses to start without it). Offline only where tests and CI
ask for it: `make test` and .ci/run set HF_HUB_OFFLINE, the notebooks and `make reproduce` leave it to the user."""

import os
import shutil
import subprocess

import pytest

from dsmath_lib import paths

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def dry_run(target: str, uid: int, tmp_path) -> str:
    """`make -n target` with `id -u` answering `uid` (a stub `id` first on PATH), so both branches run anywhere."""
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (stub / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{stub}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["make", "-n", "-C", str(paths.ROOT), target], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def lab_line(output: str) -> str:
    return next(line for line in output.splitlines() if "jupyter lab" in line)


def test_lab_allows_root_only_as_root(tmp_path):
    assert lab_line(dry_run("lab", 0, tmp_path)).split()[-1] == "--allow-root"
    assert "--allow-root" not in lab_line(dry_run("lab", 1000, tmp_path))


def test_offline_only_in_tests_and_ci():
    makefile = (paths.ROOT / "Makefile").read_text()
    exports = [line for line in makefile.splitlines() if "HF_HUB_OFFLINE" in line and not line.startswith("#")]
    assert exports == ["test: export HF_HUB_OFFLINE = 1", "test-unit: export HF_HUB_OFFLINE = 1"]
    assert "HF_HUB_OFFLINE=1" in (paths.ROOT / ".ci" / "run").read_text()
    for notebook in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        assert "HF_HUB_OFFLINE" not in notebook.read_text(), f"{notebook.name} decides hub access for the user"
