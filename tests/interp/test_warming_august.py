"""Warming/cooling and the August test on the published fine models and the mini year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.experiments.august import (
    august_experiment,
    class_medians,
    glacier_class,
    ols_slope,
    perturbed_days,
)
from hydrointerp.experiments.warming import (
    TemperatureScaling,
    cluster_region,
    freezing_day,
    freshet_metrics,
    raw_temperature,
    warming_experiment,
)

YEAR = pd.date_range("2011-01-01", "2011-12-31")


def _fine(shared_data: Path, ids: list[str], clusters: dict, members: int = 1):
    from hydrointerp.models.ensemble import Ensemble

    root = shared_data / "cnn_lstm_era" / "models"
    return Ensemble.load_published(root, "fine", ids, clusters, members=range(members))


def test_freshet_earlier_under_warming_for_eastern_cluster(
    shared_data, mini, mini_clusters, mini_in_near, mini_frames
) -> None:
    ids = [s for s, c in zip(mini["station"].values, mini_clusters.values, strict=True) if c == 2]
    ens = _fine(shared_data, ids, dict.fromkeys(ids, 2))
    region = cluster_region(mini_in_near, mini_clusters)
    ds = warming_experiment(ens, mini_frames, YEAR, mini_clusters, region, delta_t=[5.0, -5.0])
    assert ds["flow"].dims == ("delta_t", "cluster", "dayofyear")
    assert ds["flow"].sizes["dayofyear"] == 365
    warm, cold = ds["freshet_day"].sel(cluster=2).values
    assert warm < cold - 10  # Eastern (nival) freshet starts weeks earlier under +5 K
    t_warm, t_cold = ds["freezing_day"].sel(cluster=2).values
    assert t_warm < cold and t_warm < t_cold  # the Tmin = 0 transition also moves earlier
    assert ds["freshet_day_slope"].sel(cluster=2) < 0


def test_swapped_means_quirk_moves_temperatures_by_6_k(mini_frames) -> None:
    ok = raw_temperature(mini_frames.isel(time=slice(0, 30)), TemperatureScaling())
    bug = raw_temperature(
        mini_frames.isel(time=slice(0, 30)), TemperatureScaling(swapped_means=True)
    )
    diff = (bug - ok).mean(("time", "lat", "lon"))
    np.testing.assert_allclose(diff.values, [-6.2563, 6.2563], atol=1e-3)
    assert bool((ok.sel(channel="tmax") >= ok.sel(channel="tmin")).all())


def test_freshet_and_freezing_rules_on_known_curves() -> None:
    day = np.arange(365)
    q = np.exp(-(((day - 160) / 25.0) ** 2)) * 4.0
    t_half, t_peak, q_max = freshet_metrics(q)
    assert t_peak == 160 and q_max == pytest.approx(4.0)
    assert abs(q[int(t_half)] - 2.0) < 0.1 and t_half < t_peak
    temp = 273.0 - 10 * np.cos(2 * np.pi * (day - 10) / 365)  # crosses up near 101, down near 283
    assert freezing_day(temp) == pytest.approx(102, abs=1)
    assert freezing_day(np.full(365, 260.0)) == 0.0


def test_august_median_slope_rises_across_glacier_classes(
    shared_data, mini, mini_clusters, mini_frames
) -> None:
    ids = [str(s) for s in mini["station"].values]
    ens = _fine(shared_data, ids, dict(zip(ids, mini_clusters.values.tolist(), strict=True)))
    ds = august_experiment(ens, mini_frames, YEAR, mini["glacier_fraction"], delta_t=[5.0, -5.0])
    med = class_medians(ds).values
    assert np.bincount(ds["glacier_class"].values).tolist() == [139, 42, 38, 7]
    assert np.all(np.diff(med) > 0), med
    assert med[-1] > 0.05  # heavily glacierised basins gain flow with August warmth


def test_august_helpers() -> None:
    assert perturbed_days().tolist()[:3] == [0, 1, 2] and perturbed_days()[30] == 0
    g = xr.DataArray([0.0, 0.004, 0.01, 0.05, 0.1, 0.59], dims="station")
    assert glacier_class(g).values.tolist() == [0, 1, 1, 2, 2, 3]
    x = np.array([5.0, 0.0, -5.0])
    np.testing.assert_allclose(ols_slope(x, np.stack([2 * x + 1, -x], axis=1)), [2.0, -1.0])
