"""The papermill runner on toy notebooks: runs in order, skips what is current, reruns what a params change
touches, stops on a failing cell with the cell named, resumes, and assembles REPORT.md."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dsmath_lib import paths
from dsmath_lib.reproduce import discover_notebooks, library_digest, read_spec

PARAMETERS = 'params_path = "../params/smoke.yaml"\nscale = "smoke"'


def toy_notebook(path: Path, needs, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["dsmath"] = {"needs": needs}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params_cell = nbformat.v4.new_code_cell(PARAMETERS)
    params_cell.metadata["tags"] = ["parameters"]
    setup = "from dsmath_lib.config import load_params\nparams = load_params(params_path)"
    nb.cells = [nbformat.v4.new_markdown_cell("# toy"), params_cell, nbformat.v4.new_code_cell(setup),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


WRITE_TABLE = """import pandas as pd
from dsmath_lib.report import NotebookOutputs
out = NotebookOutputs(params, "{name}")
out.table(pd.DataFrame({{"value": [params.{key}]}}), "value", "{name} value")"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    (root / "notebooks").mkdir()
    (root / "params").mkdir()
    shutil.copy(paths.PARAMS_DIR / "smoke.yaml", root / "params" / "smoke.yaml")
    toy_notebook(root / "notebooks" / "01_first.ipynb", [],
                 WRITE_TABLE.format(name="01_first", key="world.n_test"))
    toy_notebook(root / "notebooks" / "02_second.ipynb", ["01_first"],
                 WRITE_TABLE.format(name="02_second", key="sampling.max_new_tokens"))
    return root


def reproduce(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSMATH_ROOT": str(root), "WANDB_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "dsmath_lib.reproduce", "--scale", "smoke", *args],
                          env=env, capture_output=True, text=True, timeout=300)


def set_param(root: Path, old: str, new: str) -> None:
    file = root / "params" / "smoke.yaml"
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new))


def test_runner_lifecycle(study):
    first = reproduce(study)
    assert first.returncode == 0, first.stderr
    assert "01_first: done" in first.stdout and "02_second: done" in first.stdout
    report = (study / "results" / "smoke" / "REPORT.md").read_text()
    assert "01_first value" in report and "02_second value" in report
    assert (study / "results" / "smoke" / "notebooks" / "02_second.ipynb").exists()
    resolved = json.loads((study / "results" / "smoke" / "params.resolved.json").read_text())
    assert resolved["world"]["n_test"] == 64 and "temperature" in resolved["sampling"]

    second = reproduce(study)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("up to date, skipped") == 2

    # any params value reruns every notebook: no hand-kept list of what a notebook reads to go stale
    set_param(study, "max_new_tokens: 64", "max_new_tokens: 65")
    third = reproduce(study)
    assert "01_first: done" in third.stdout and "02_second: done" in third.stdout
    assert " 65 |" in (study / "results" / "smoke" / "tables" / "02_second" / "value.md").read_text()
    assert reproduce(study).stdout.count("up to date, skipped") == 2

    forced = reproduce(study, "--force", "--only", "02_second")
    assert "02_second: done" in forced.stdout and "01_first" not in forced.stdout.split("notebooks,")[1]


def test_failure_names_cell_and_resumes(study, tmp_path):
    assert reproduce(study).returncode == 0
    bad = study / "notebooks" / "03_third.ipynb"
    toy_notebook(bad, ["02_second"], "raise ValueError('boom in the third notebook')")
    failed = reproduce(study)
    assert failed.returncode == 1
    assert "03_third failed in cell [" in failed.stderr and "starts `raise ValueError" in failed.stderr and "ValueError: boom" in failed.stderr
    executed = study / "results" / "smoke" / "notebooks" / "03_third.ipynb"
    assert "boom" in executed.read_text()  # the executed copy is kept for reading
    toy_notebook(bad, ["02_second"], "print('fixed')")
    resumed = reproduce(study)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("up to date, skipped") == 2 and "03_third: done" in resumed.stdout
    bad.unlink()


def test_spec_requires_metadata(tmp_path):
    nb = nbformat.v4.new_notebook()
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    with pytest.raises(ValueError, match="missing metadata.dsmath.needs"):
        read_spec(tmp_path / "01_x.ipynb")
    nb.metadata["dsmath"] = {"params": ["world"], "needs": []}  # the old hand-kept list is an error, not ignored
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    with pytest.raises(ValueError, match="covers the whole params file"):
        read_spec(tmp_path / "01_x.ipynb")


def test_unknown_need_is_an_error(tmp_path):
    toy_notebook(tmp_path / "01_x.ipynb", ["00_missing"], "1")
    with pytest.raises(ValueError, match="unknown notebooks"):
        discover_notebooks(tmp_path)


def test_library_digest_tracks_source(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = library_digest(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert library_digest(tmp_path) != before


def test_repository_notebooks_are_stored_clean():
    """Notebooks in notebooks/ carry no outputs (executed copies live in results/<scale>/notebooks/)."""
    specs = discover_notebooks(paths.NOTEBOOKS_DIR)
    for spec in specs:
        nb = json.loads(spec.path.read_text())
        dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
        assert not dirty, f"{spec.path} has outputs in cells {dirty}"
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{spec.path} needs exactly one cell tagged 'parameters'"
