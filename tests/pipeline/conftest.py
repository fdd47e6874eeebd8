"""Fixtures of the pipeline tests: one uninterrupted serial run of the built-in ``tiny`` config.

The other tests copy that run directory (cheap) and compare their outputs with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hydrointerp.config import load_config
from hydrointerp.pipeline import run_study

# the helpers module beside this file (tests_pipeline_helpers.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_config():
    """The built-in tiny config."""
    return load_config("tiny")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_config) -> tuple[Path, dict]:
    """Run directory and run log of one uninterrupted serial tiny run."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    log = run_study(tiny_config, out=out, workers=1)
    return out, log
