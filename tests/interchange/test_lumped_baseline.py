"""The lumped-LSTM baseline stage: neuralhydrology's cudalstm beside the CNN-LSTM in skill.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.config import load_config
from hydrointerp.pipeline import run_study
from hydrointerp.training.metrics import SUITE, split_column

nh_metrics = pytest.importorskip("neuralhydrology.evaluation.metrics")


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> tuple:
    cfg = load_config("tiny")
    small = {"enabled": True, "hidden_size": 4, "seq_length": 30, "epochs": 1, "num_threads": 1}
    cfg = cfg.model_copy(
        update={
            "baseline": cfg.baseline.model_copy(update=small),
            "experiments": cfg.experiments.model_copy(update={"run": []}),
        }
    )
    out = tmp_path_factory.mktemp("baseline") / "run"
    return out, run_study(cfg, out=out, workers=1)


def test_baseline_skill_sits_beside_the_cnn_lstm(baseline_run) -> None:
    run, log = baseline_run
    assert log["stages"]["baseline"]["status"] == "ran"
    skill = pd.read_csv(run / "skill.csv", dtype={"station_id": str})
    kinds = {split_column(c)[1] for c in skill.columns.drop("station_id")}
    assert kinds == {"bulk", "fine", "lstm"}
    assert {split_column(c)[0] for c in skill.columns if "_lstm" in c} == set(SUITE)
    pred = xr.load_dataset(run / "baseline" / "predictions.nc", engine="h5netcdf")
    # neuralhydrology's own observations, back in m3/s, are the run's observations
    np.testing.assert_allclose(
        pred["lstm_observed_discharge"].values, pred["observed_discharge"].values, rtol=1e-4
    )
    # the scores in skill.csv are neuralhydrology's metrics of the written simulation
    for j, st in enumerate(pred["station"].values):
        o = pred["observed_discharge"].sel(station=st).astype(np.float64)
        s = pred["lstm_mean_discharge"].sel(station=st).astype(np.float64)
        assert skill["nse_lstm"][j] == pytest.approx(nh_metrics.nse(o, s), rel=1e-6)
        assert skill["kge_lstm"][j] == pytest.approx(nh_metrics.kge(o, s), rel=1e-6)
    assert list(run.glob("baseline/nh/*/model_epoch001.pt"))
    with xr.open_dataset(run / "skill.nc", engine="h5netcdf") as nc:
        assert nc["nse_lstm"].attrs["units"] == "1" and "nse_fine_member" in nc
    html = (run / "report.html").read_text()
    assert "<th>lstm</th>" in html
