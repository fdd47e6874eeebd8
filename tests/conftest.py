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


@pytest.fixture()
def run_main(capsys: pytest.CaptureFixture[str]):
    """``run_main(args) -> (exit code, stderr)`` of the real entry point ``hydrointerp.cli.main``.

    CliRunner shows the exception object; users see ``main``'s one-line ``error: ...`` and its
    exit code, which is what the error tests check.
    """
    import sys

    from hydrointerp.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        capsys.readouterr()
        saved = sys.argv
        sys.argv = ["hydrointerp", *[str(a) for a in args]]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv = saved
        return code, capsys.readouterr().err

    return run
