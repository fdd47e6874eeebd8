"""The tiny study end to end: artefacts, resume after a failure, fingerprints, Dask == serial."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from tests_pipeline_helpers import compare_outputs, copy_run

from hydrointerp.fidelity.skill import COLUMNS
from hydrointerp.models.saved import load_model
from hydrointerp.pipeline import InjectedFailure, run_study
from hydrointerp.pipeline.runner import FAIL_ENV

OUTPUTS = ["predictions.nc", "experiments/heat_map.nc", "experiments/simulator/heat_map.nc"]


def _status(log: dict) -> dict[str, str]:
    return {k: v["status"] for k, v in log["stages"].items()}


def test_tiny_run_writes_every_artefact(tiny_run) -> None:
    run, log = tiny_run
    assert set(_status(log).values()) == {"ran"}
    for name in [
        "config.yaml",
        "region.nc",
        "normaliser.nc",
        "clusters.csv",
        "skill.csv",
        "fidelity.csv",
        "report.html",
        "run_log.json",
        "figures/study_region.png",
        *OUTPUTS,
    ]:
        assert (run / name).is_file(), name
    models = sorted(p.name for p in (run / "models").glob("*.pt"))
    assert models == [
        "model_bulk_0.pt",
        "model_bulk_1.pt",
        "model_fine_0_cluster_0.pt",
        "model_fine_0_cluster_1.pt",
        "model_fine_1_cluster_0.pt",
        "model_fine_1_cluster_1.pt",
    ]
    skill = pd.read_csv(run / "skill.csv")
    assert len(skill) == 6 and skill[["nse_bulk", "nse_fine"]].notna().all().all()
    fid = pd.read_csv(run / "fidelity.csv")
    assert list(fid.columns) == [*COLUMNS, "verdict"]
    # every fidelity control ran, each to its own file
    for variant in ("simulator_b", "model_b", "random_head", "random_lstm", "random_all"):
        assert (run / "experiments" / "controls" / variant / "heat_map.nc").is_file(), variant
    assert (run / "experiments" / "controls" / "contribution" / "heat_map.nc").is_file()
    net = fid[fid.method == "perturbation"]
    assert set(net.truth) == {"simulator", "basin", "contribution"}
    # every score of the network has an interval and a skill against a named baseline
    assert net[["low", "high", "skill", "skill_low", "skill_high"]].notna().all().all()
    assert (net["low"] <= net["value"]).all() and (net["value"] <= net["high"]).all()
    assert net["baseline_name"].notna().all()
    levels = {f"perturbation:{k}" for k in ("random_head", "random_lstm", "random_all")}
    assert levels <= set(fid.method) and {"noise_ceiling", "self_agreement"} <= set(fid.method)
    timings = json.loads((run / "run_log.json").read_text())["stage_seconds"]
    assert set(timings) == set(log["stages"])


def test_second_run_skips_every_stage(tiny_run, tmp_path, tiny_config) -> None:
    run = copy_run(tiny_run[0], tmp_path / "again")
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*.nc")}
    log = run_study(tiny_config, out=run)
    assert set(_status(log).values()) == {"skipped"}
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*.nc")} == before


def test_killed_run_resumes_to_the_same_outputs(tiny_run, tmp_path, tiny_config, monkeypatch):
    run = tmp_path / "resumed"
    monkeypatch.setenv(FAIL_ENV, "finetune")
    with pytest.raises(InjectedFailure):
        run_study(tiny_config, out=run)
    assert (run / "models" / "model_bulk_1.pt").is_file()
    assert not (run / "models" / "model_fine_0_cluster_0.pt").exists()
    monkeypatch.delenv(FAIL_ENV)
    log = run_study(tiny_config, out=run)
    status = _status(log)
    assert [status[s] for s in ("data", "windows", "clusters", "ensemble")] == ["skipped"] * 4
    assert status["finetune"] == status["experiment.heat_map"] == "ran"
    compare_outputs(tiny_run[0], run, OUTPUTS)
    for name in ("model_fine_1_cluster_1.pt", "model_bulk_0.pt"):
        a = load_model(tiny_run[0] / "models" / name).state_dict()
        b = load_model(run / "models" / name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_changed_setting_reruns_only_downstream(tiny_run, tmp_path, tiny_config) -> None:
    run = copy_run(tiny_run[0], tmp_path / "changed")
    given = tiny_config.experiments.settings["heat_map"]
    # another seed: new masks (more masks need not change anything: each pass has its own
    # stream and the tolerance may stop the sweep before the extra passes)
    more = {**given["perturbation"], "seed": 7}
    settings = {"heat_map": {**given, "perturbation": more}}
    cfg = tiny_config.model_copy(
        update={"experiments": tiny_config.experiments.model_copy(update={"settings": settings})}
    )
    status = _status(run_study(cfg, out=run))
    ran = {k for k, v in status.items() if v == "ran"}
    assert ran == {"experiment.heat_map", "fidelity", "report"}
    old = tiny_run[0] / "experiments" / "heat_map.nc"
    with pytest.raises(AssertionError):
        compare_outputs(tiny_run[0], run, ["experiments/heat_map.nc"])
    assert old.is_file()


def test_two_dask_workers_give_the_serial_results(tiny_run, tmp_path, tiny_config) -> None:
    run = copy_run(tiny_run[0], tmp_path / "dask")
    log = run_study(tiny_config, out=run, workers=2, force=["ensemble"])
    assert log["workers"] == 2
    status = _status(log)
    assert status["ensemble"] == status["finetune"] == status["experiment.heat_map"] == "ran"
    compare_outputs(tiny_run[0], run, OUTPUTS[:1])  # the trained ensemble: bit-identical
    # the perturbation engine's matrix products run with 1 thread per worker but 2 threads
    # serially; BLAS sums in another order, so the z-scored maps agree to float32 rounding
    compare_outputs(tiny_run[0], run, OUTPUTS[1:], rtol=1e-5, atol=1e-5)
    skill_a = pd.read_csv(tiny_run[0] / "skill.csv")
    skill_b = pd.read_csv(run / "skill.csv")
    np.testing.assert_array_equal(skill_a["nse_fine"], skill_b["nse_fine"])


def test_further_attribution_methods_are_run_and_scored(tiny_run, tmp_path, tiny_config) -> None:
    """``fidelity.methods``: saliency on the network and on the untrained network, scored on the
    same truths with its own untrained baseline and randomisation check."""
    run = copy_run(tiny_run[0], tmp_path / "methods")
    fid = tiny_config.fidelity.model_copy(update={"methods": ["saliency"]})
    cfg = tiny_config.model_copy(update={"fidelity": fid})
    status = _status(run_study(cfg, out=run))
    assert status["experiment.heat_map"] == "ran" and status["ensemble"] == "skipped"
    exp = run / "experiments"
    assert (exp / "heat_map_saliency.nc").is_file()
    assert (exp / "controls" / "random_all" / "heat_map_saliency.nc").is_file()
    # the published method's results are unchanged by the extra method
    compare_outputs(tiny_run[0], run, ["experiments/heat_map.nc"])
    table = pd.read_csv(run / "fidelity.csv")
    sal = table[(table.experiment == "heat_map") & (table.method == "saliency")]
    assert set(sal.truth) == {"simulator", "basin", "contribution"}
    assert sal["skill"].notna().all()
    assert "saliency:random_all" in set(table.method)
