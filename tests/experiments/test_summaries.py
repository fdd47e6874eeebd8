"""Summaries that compare Experiments 1 and 2 with the published statements, on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.experiments.channels import seasonal_dominance
from hydrointerp.experiments.curves import rise_day
from hydrointerp.experiments.daily import pattern_contrast


def test_seasonal_dominance_is_the_seasonal_mean_difference() -> None:
    time = pd.date_range("2011-01-01", "2011-12-31", freq="D")
    month = time.month.to_numpy()
    s_t = np.where(np.isin(month, [3, 4, 5, 6]), 0.9, 0.2)  # temperature matters in spring
    s_p = np.where(np.isin(month, [10, 11, 12, 1, 2]), 1.0, 0.4)  # rain in the cold season
    ds = xr.Dataset(
        {
            "s_temperature": (("time", "group"), np.stack([s_t, s_t], 1)),
            "s_precipitation": (("time", "group"), np.stack([s_p, 0 * s_p], 1)),
        },
        coords={"time": time, "group": ["A", "B"]},
    )
    dom = seasonal_dominance(ds)
    assert float(dom["t_minus_p_spring"].sel(group="A")) == pytest.approx(0.9 - 0.4)
    assert float(dom["t_minus_p_late_summer"].sel(group="A")) == pytest.approx(0.2 - 0.4)
    assert float(dom["t_minus_p_cold"].sel(group="A")) == pytest.approx(0.2 - 1.0)
    assert float(dom["t_minus_p_cold"].sel(group="B")) == pytest.approx(0.2)


def test_pattern_contrast_uses_each_clusters_in_near_union() -> None:
    lat, lon = np.arange(4.0), np.arange(5.0)
    in_near = np.zeros((3, 4, 5), dtype=bool)
    in_near[0, 0, :2] = True  # cluster 0: stations 0 and 1
    in_near[1, 1, :2] = True
    in_near[2, 3, 4] = True  # cluster 1: station 2
    pm = np.zeros((2, 2, 4, 5))
    pm[1, 0, :2, :2] = 3.0  # high-flow map of cluster 0 sits on its basins
    pm[0, 0, 3, :] = 1.0  # low-flow map of cluster 0 sits in the far field
    pm[:, 1, 3, 4] = -2.0  # cluster 1's basin pixel is the least sensitive
    ds = xr.Dataset(
        {
            "pattern_map": (("flow_pattern", "cluster", "lat", "lon"), pm),
            "in_near": (("station", "lat", "lon"), in_near),
        },
        coords={
            "flow_pattern": ["low_flow", "high_flow"],
            "cluster": [0, 1],
            "station": ["s0", "s1", "s2"],
            "station_cluster": ("station", [0, 0, 1]),
            "lat": lat,
            "lon": lon,
        },
    )
    c = pattern_contrast(ds)
    assert c.dims == ("flow_pattern", "cluster")
    assert float(c.sel(flow_pattern="high_flow", cluster=0)) == 3.0
    assert float(c.sel(flow_pattern="low_flow", cluster=0)) == 0.0  # far median still 0
    assert float(c.sel(flow_pattern="high_flow", cluster=1)) == -2.0


def test_rise_day_is_the_first_day_at_the_level() -> None:
    curves = xr.DataArray(
        np.array([[0.0, 0.1, 0.0], [0.2, 0.6, 0.1], [0.7, 0.4, 0.2], [1.0, 1.0, 0.3]]),
        dims=("time", "group"),
        coords={"group": ["a", "b", "c"]},
    )
    assert rise_day(curves).values.tolist() == [2, 1, -1]
    assert rise_day(curves, 0.25).values.tolist() == [2, 1, 3]
