"""dsmath_lib.notebook.start_notebook: the one setup call of every notebook."""

import json

from dsmath_lib import paths
from dsmath_lib.config import params_path
from dsmath_lib.notebook import start_notebook


def test_start_notebook_gives_params_outputs_tracker_and_artifacts(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "ROOT", tmp_path)  # results/ and artifacts/ of a scratch study
    params, out, tracker, artifacts = start_notebook(params_path("smoke"), "00_world")
    assert params.scale == "smoke" and artifacts == tmp_path / "artifacts" / "smoke"
    assert out.root == tmp_path / "results" / "smoke"
    tracker.log({"x": 1.0})  # tracking on or off, the tracker takes logs
    tracker.finish()


def test_every_notebook_starts_with_it():
    for notebook in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert f'start_notebook(params_path, "{notebook.stem}")' in code, notebook.name
        assert "load_params(" not in code and "NotebookOutputs(" not in code, notebook.name
