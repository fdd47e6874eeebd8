"""skill.csv carries the whole metric suite, with units, computed on flows in m3/s."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.windows import Normaliser
from hydrointerp.report.build import suite_summary
from hydrointerp.training.metrics import SUITE, kge, split_column


def test_skill_csv_is_the_suite_in_m3s(tiny_run) -> None:
    run, _ = tiny_run
    skill = pd.read_csv(run / "skill.csv", dtype={"station_id": str})
    parsed = [split_column(c) for c in skill.columns.drop("station_id")]
    assert {(m, k) for m, k, _ in parsed} == {(m, k) for m in SUITE for k in ("bulk", "fine")}
    units = {m: u for m, _, u in parsed}
    assert units["rmse"] == units["bias"] == "m3 s-1" and units["fhv"] == "%"
    assert units["peak_timing"] == "d" and units["kge"] == units["nse"] == "1"
    # KGE recomputed by hand from predictions.nc de-normalised with normaliser.nc
    pred = xr.load_dataset(run / "predictions.nc", engine="h5netcdf")
    stats = xr.load_dataset(run / "normaliser.nc", engine="h5netcdf")
    mean, std = stats["flow_mean"].values, stats["flow_std"].values
    obs = pred["observed"].values.astype(np.float64) * std + mean
    sim = pred["fine_member"].values.astype(np.float64).mean(0) * std + mean
    ok = np.isfinite(obs) & np.isfinite(sim)
    assert ok.all()
    r = np.array([np.corrcoef(obs[:, j], sim[:, j])[0, 1] for j in range(obs.shape[1])])
    alpha = sim.std(0) / obs.std(0)
    beta = sim.mean(0) / obs.mean(0)
    want = 1 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    np.testing.assert_allclose(skill["kge_fine"].to_numpy(), want, rtol=1e-4)
    # on normalised flows the bias ratio is meaningless: KGE there differs
    norm_kge = kge(pred["observed"], pred["fine_member"].mean("member"))["kge"].values
    assert np.max(np.abs(norm_kge - want)) > 0.1
    np.testing.assert_allclose(
        skill["bias_fine [m3 s-1]"].to_numpy(), (sim - obs).mean(0), rtol=1e-3, atol=1e-3
    )
    assert Normaliser.load(run / "normaliser.nc").identity is False


def test_report_shows_the_suite_and_the_hydrologist_figures(tiny_run) -> None:
    run, _ = tiny_run
    summary = suite_summary(run)
    skill = pd.read_csv(run / "skill.csv", dtype={"station_id": str})
    row = summary.set_index("metric").loc["fhv (%)"]
    assert row["fine"] == np.nanmedian(skill["fhv_fine [%]"])
    html = (run / "report.html").read_text()
    assert "The standard metric suite" in html and "peak_timing (d)" in html
    for name in ("nse_cdf.png", "gauges_best_median_worst.png"):
        assert (run / "figures" / name).stat().st_size > 10_000
