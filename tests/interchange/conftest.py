"""Fixtures of the interchange tests: one tiny run with every experiment (for the CF checker,
the Caravan export and the lumped baseline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydrointerp.config import load_config
from hydrointerp.pipeline import run_study

#: the smallest settings each experiment accepts on the tiny region (one test year); the
#: simulator's copies (same writer) only for the two map sweeps
FOUR = {"iters_one_pass": 4, "iters_total": 4}
SMALL = {
    "heat_map": {"n_targets": 10, "target_step": 10, "perturbation": FOUR},
    "daily": {"n_targets": 10, "target_step": 10, "perturbation": FOUR},
    "channels": {"n_targets": 10, "target_step": 10, "perturbation": FOUR, "simulator": False},
    "drivers": {"n_targets": 60, "n_boot": 5, "n_random": 5, "simulator": False},
    "warming": {"n_targets": 60, "simulator": False},
    "august": {"n_targets": 250, "simulator": False},
    "cell_states": {"n_targets": 250, "simulator": False},
}  # fmt: skip


@pytest.fixture(scope="session")
def every_experiment_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run directory of the built-in tiny config with all seven experiments (quick settings)."""
    cfg = load_config("tiny")
    experiments = cfg.experiments.model_copy(update={"run": list(SMALL), "settings": SMALL})
    cfg = cfg.model_copy(
        update={
            "experiments": experiments,
            "name": "tiny-every-experiment",
            "fidelity": cfg.fidelity.model_copy(update={"enabled": False}),
            "report": cfg.report.model_copy(update={"enabled": False}),
        }
    )
    out = tmp_path_factory.mktemp("every") / "run"
    run_study(cfg, out=out, workers=1)
    return out
