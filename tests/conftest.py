"""Shared fixtures: the real data folder, found via HYDROINTERP_SHARED or ../shared.

Under CI (CI=true) a missing shared folder is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _shared_dir() -> Path | None:
    cands = []
    if os.environ.get("HYDROINTERP_SHARED"):
        cands.append(Path(os.environ["HYDROINTERP_SHARED"]))
    root = Path(__file__).resolve().parents[1]
    cands += [root.parent / "shared", Path.cwd().parent / "shared"]
    for c in cands:
        if (c / "data" / "cnn_lstm_era").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path of the shared folder with the published data."""
    found = _shared_dir()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("shared data folder missing under CI (set HYDROINTERP_SHARED or ../shared)")
        pytest.skip("shared data folder not found")
    return found


@pytest.fixture(scope="session")
def shared_data(shared: Path) -> Path:
    """``shared/data``."""
    return shared / "data"
