"""Shared test set-up: offline Hugging Face and wandb, and the real-data folder when it exists."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
