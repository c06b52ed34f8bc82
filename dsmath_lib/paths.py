"""Where things live: every path the study reads or writes is built here, from the repository root.

    from dsmath_lib import paths
    paths.artifacts_dir("tiny") / "tokenizer"     # artifacts/tiny/tokenizer
    paths.results_dir("tiny") / "tables"          # results/tiny/tables

DSMATH_ROOT overrides the root (tests run the study in a temporary copy); SHARED_DATA points at the
real GSM8K / MATH files, ../shared/data beside the repository by default (DSMATH_SHARED_DATA overrides).
A params path may start with {shared_data} (`expand`), so a params file names shared files wherever they are.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("DSMATH_ROOT", Path(__file__).resolve().parents[1]))
PARAMS_DIR = ROOT / "params"
NOTEBOOKS_DIR = ROOT / "notebooks"
SHARED_DATA = Path(os.environ.get("DSMATH_SHARED_DATA", ROOT.parent / "shared" / "data"))


def results_dir(scale: str) -> Path:
    """results/<scale>/: tables, figures, executed notebooks and REPORT.md (results/tiny is committed)."""
    return ROOT / "results" / scale


def artifacts_dir(scale: str) -> Path:
    """artifacts/<scale>/: corpora, tokenizers, checkpoints, rollouts (never committed)."""
    return ROOT / "artifacts" / scale


def expand(path: str) -> str:
    """A params path with a leading {shared_data} replaced by SHARED_DATA; other paths unchanged.

    >>> expand("{shared_data}/gsm8k/train.jsonl") == str(SHARED_DATA / "gsm8k/train.jsonl")
    True
    >>> expand("../data/cc/*.wet")
    '../data/cc/*.wet'
    """
    prefix = "{shared_data}"
    return str(SHARED_DATA) + path[len(prefix):] if path.startswith(prefix) else path
