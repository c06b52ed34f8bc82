"""The study's runner: execute the notebooks in order with papermill, resumably, then write REPORT.md.

    python -m dsmath_lib.reproduce --scale tiny                      # what `make reproduce` runs
    python -m dsmath_lib.reproduce --scale smoke --only 00_world     # one notebook
    python -m dsmath_lib.reproduce --scale tiny --force              # rerun even what is up to date
    python -m dsmath_lib.reproduce --scale real-smoke                # builds its fixture first (dsmath_lib.fixture)

Each notebook declares in its metadata which notebooks' artifacts it needs: {"dsmath": {"needs":
["00_world"]}}. Its fingerprint hashes its cells, the whole params file (every value: no hand-kept list of
what a notebook reads can drift out of date and leave an output stale), the library's source and the
fingerprints of the notebooks it needs. A notebook whose fingerprint matches its last successful run
(recorded in artifacts/<scale>/reproduce_state.json) is skipped, so an interrupted run picks up at the
first unfinished notebook. A changed params value reruns every notebook, which is cheap where nothing it
determines changed: training runs are found on disk by their spec's digest and evaluations in the cache
keyed by checkpoint content (eval.evaluate). A failing notebook stops the run,
naming the cell and the error; its executed copy stays in results/<scale>/notebooks/ for reading.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dsmath_lib import paths
from dsmath_lib.config import Params, load_params, params_path
from dsmath_lib.report import assemble_report

NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
# scales whose local stand-ins for hub downloads dsmath_lib.fixture builds into artifacts/<scale>/fixture
# before the notebooks run (its params point there)
FIXTURE_SCALES = ("real-smoke",)


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names the notebook, the cell and the error."""


@dataclass(frozen=True)
class NotebookSpec:
    name: str  # "07_evaluation"
    path: Path
    needs: tuple[str, ...]  # notebooks whose artifacts it reads


def discover_notebooks(folder: Path) -> list[NotebookSpec]:
    """The study's notebooks (NN_name.ipynb) in run order, with their declared dependencies."""
    specs = [read_spec(p) for p in sorted(folder.glob("*.ipynb")) if NOTEBOOK_NAME.match(p.name)]
    known = {s.name for s in specs}
    for spec in specs:
        missing = [n for n in spec.needs if n not in known]
        if missing:
            raise ValueError(f"{spec.path}: metadata.dsmath.needs names unknown notebooks {missing}")
    return specs


def read_spec(path: Path) -> NotebookSpec:
    meta = json.loads(path.read_text()).get("metadata", {}).get("dsmath")
    if not isinstance(meta, dict) or "needs" not in meta:
        raise ValueError(f"{path}: missing metadata.dsmath.needs (the notebooks whose artifacts it reads)")
    if "params" in meta:
        raise ValueError(f"{path}: metadata.dsmath.params is gone: the fingerprint covers the whole params file")
    return NotebookSpec(path.stem, path, tuple(meta["needs"]))


def notebook_fingerprint(spec: NotebookSpec, params: Params, upstream: dict[str, str], library: str) -> str:
    """Hash of what determines a notebook's outputs: its cells, every params value, code and inputs."""
    cells = json.loads(spec.path.read_text())["cells"]
    blob = {
        "cells": [(c["cell_type"], "".join(c["source"])) for c in cells],
        "params": params.section_digest(),
        "scale": params.scale,
        "library": library,
        "needs": {name: upstream[name] for name in spec.needs},
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def library_digest(package_dir: Path = Path(__file__).parent) -> str:
    """Hash of dsmath_lib's Python sources: a code change reruns the study."""
    digest = hashlib.sha256()
    for file in sorted(package_dir.rglob("*.py")):
        digest.update(str(file.relative_to(package_dir)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class RunState:
    """artifacts/<scale>/reproduce_state.json: the fingerprint of each notebook's last successful run."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}

    def is_current(self, name: str, fingerprint: str, executed: Path) -> bool:
        return self.entries.get(name, {}).get("fingerprint") == fingerprint and executed.exists()

    def record(self, name: str, fingerprint: str, seconds: float) -> None:
        self.entries[name] = {"fingerprint": fingerprint, "seconds": round(seconds, 1), "finished": time.time()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)  # atomic: an interrupted write never corrupts the state


def execute_notebook(spec: NotebookSpec, params: Params, output: Path, progress: bool) -> None:
    """Run one notebook with papermill, injecting the params file path. Raises NotebookFailed."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(spec.path),
            str(output),
            parameters={"params_path": str(Path(params.source).resolve()), "scale": params.scale},
            kernel_name="python3",
            cwd=str(spec.path.parent),
            progress_bar=progress,
        )
    except PapermillExecutionError as err:
        raise NotebookFailed(
            f"{spec.name} failed in cell [{err.exec_count}] (cell {err.cell_index} of the executed copy, "
            f"which starts `{err.source.strip().splitlines()[0][:80]}`): {err.ename}: {err.evalue}\n"
            f"executed copy kept for reading: {output}"
        ) from err


def run(scale: str, only: list[str] | None = None, force: bool = False, progress: bool | None = None) -> Path:
    """Execute the study at `scale`; returns the REPORT.md path. Raises NotebookFailed on a failing cell."""
    params = load_params(params_path(scale))
    specs = discover_notebooks(paths.NOTEBOOKS_DIR)
    unknown = sorted(set(only or ()) - {s.name for s in specs})
    if unknown:
        raise SystemExit(f"--only names unknown notebooks {unknown}; have {[s.name for s in specs]}")
    progress = sys.stderr.isatty() if progress is None else progress
    state = RunState(paths.artifacts_dir(scale) / "reproduce_state.json")
    library = library_digest()
    executed_dir = paths.results_dir(scale) / "notebooks"
    fingerprints: dict[str, str] = {}
    print(f"dsmath reproduce: scale {scale}, {len(specs)} notebooks, params {params.source}", flush=True)
    if scale in FIXTURE_SCALES:
        from dsmath_lib.fixture import build

        print(f"fixture: {build(paths.artifacts_dir(scale) / 'fixture')}", flush=True)
    for i, spec in enumerate(specs, 1):
        fingerprint = notebook_fingerprint(spec, params, fingerprints, library)
        fingerprints[spec.name] = fingerprint
        executed = executed_dir / f"{spec.name}.ipynb"
        label = f"[{i}/{len(specs)}] {spec.name}"
        if only and spec.name not in only:
            continue
        if not force and state.is_current(spec.name, fingerprint, executed):
            print(f"{label}: up to date, skipped (fingerprint {fingerprint})", flush=True)
            continue
        print(f"{label}: running ...", flush=True)
        start = time.perf_counter()
        execute_notebook(spec, params, executed, progress)
        seconds = time.perf_counter() - start
        state.record(spec.name, fingerprint, seconds)
        print(f"{label}: done in {seconds:.1f} s", flush=True)
    resolved = paths.results_dir(scale) / "params.resolved.json"  # defaults filled in: what the run really used
    resolved.write_text(json.dumps(params.to_dict(), indent=1, sort_keys=True) + "\n")
    report = assemble_report(params, [s.name for s in specs])
    print(f"report: {report}", flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="tiny", help="smoke, real-smoke, tiny (default), gpu or paper")
    parser.add_argument("--only", action="append", help="run only this notebook (repeatable), e.g. 07_evaluation")
    parser.add_argument("--force", action="store_true", help="rerun notebooks that are up to date")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="papermill's per-cell progress bar (default: when stderr is a terminal)")
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "offline")
    try:
        run(args.scale, args.only, args.force, args.progress)
    except NotebookFailed as err:
        print(f"FAILED: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
