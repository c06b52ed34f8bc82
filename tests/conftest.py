"""Shared test set-up: offline Hugging Face and wandb, and the real-data folder when it exists.

The tests never reach the hub, whatever the user's environment says: HF_HUB_OFFLINE is forced to 1 here, before
any test module imports huggingface_hub (which reads it once, at import), and every subprocess the tests start
(papermill kernels through dsmath_lib.reproduce, accelerate launches) inherits it. Outside the tests (make
reproduce, make lab, notebooks) the user's environment decides.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import pytest  # noqa: E402

from dsmath_lib import paths  # noqa: E402


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data (real GSM8K / MATH files); tests that need it skip when it is absent."""
    if not paths.SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {paths.SHARED_DATA} not present")
    return paths.SHARED_DATA


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singleton state: a test that builds trl's trainer (which sets bf16)
    must not leak it into a later test of the same worker that trains in float32."""
    yield
    import sys

    if "accelerate.state" in sys.modules:  # never import accelerate just to reset it
        sys.modules["accelerate.state"].AcceleratorState._reset_state(reset_partial_state=True)
