"""Metrics A and D on hand-made maps, the published regime groups, resumable outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.experiments.metrics_spatial import (
    halfmax_area,
    in_near_vertices,
    ks_in_far,
    zscore_map,
)
from hydrointerp.experiments.output import (
    experiment_done,
    experiment_path,
    read_experiment,
    write_experiment,
)
from hydrointerp.experiments.regimes import regime_groups

LAT = np.array([50.0, 49.0, 48.0])
LON = np.array([-120.0, -119.0, -118.0, -117.0])


def _maps(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("station", "lat", "lon"),
        coords={"station": [f"s{i}" for i in range(len(values))], "lat": LAT, "lon": LON},
    )


def test_halfmax_area_counts_pixels_above_half_range() -> None:
    a = np.zeros((2, 3, 4))
    a[0, 0, :3] = 1.0  # 3 of 12 pixels at the max
    a[1] = np.arange(12).reshape(3, 4)  # 0..11: above 5.5 are 6..11
    area = halfmax_area(_maps(a))
    np.testing.assert_allclose(area.values, [3 / 12, 6 / 12])
    assert float(halfmax_area(_maps(np.ones((1, 3, 4))))[0]) == 0.0


def test_ks_d_is_one_and_signed_for_separated_maps() -> None:
    inside = np.zeros((2, 3, 4), dtype=bool)
    inside[:, 0, 0] = inside[:, 1, 1] = True
    hot = np.where(inside, 5.0, 0.0) + np.random.default_rng(0).normal(0, 0.01, inside.shape)
    mask = _maps(inside)
    group = xr.DataArray([0, 1], dims="station", coords={"station": ["s0", "s1"]}, name="cluster")
    d, sign = ks_in_far(zscore_map(_maps(hot)), mask, group)
    np.testing.assert_allclose(d.values, [1.0, 1.0])
    np.testing.assert_array_equal(sign.values, [1.0, 1.0])
    d2, sign2 = ks_in_far(_maps(-hot), mask, group)
    np.testing.assert_allclose(d2.values, [1.0, 1.0])
    np.testing.assert_array_equal(sign2.values, [-1.0, -1.0])
    with pytest.raises(DataError):
        ks_in_far(_maps(hot), mask.copy(data=np.ones_like(inside)), group)


def test_in_near_uses_outline_vertices_not_containment() -> None:
    # a big square outline: its centre pixel (49, -118.5 not a centre) is far from every vertex
    square = np.array([[-121.0, 51.0], [-116.0, 51.0], [-116.0, 47.0], [-121.0, 47.0]])
    near = in_near_vertices([square, None], ["a", "b"], [0.0, -117.0], [0.0, 48.0], LAT, LON)
    assert not near.sel(station="a").any()  # every centre > 1 deg from the corners
    gauge = near.sel(station="b").values
    assert gauge[2, 3] and gauge[1, 3] and gauge[2, 2] and not gauge[0, 0]


def test_published_regime_groups_on_the_226_stations(shared_data) -> None:
    from hydrointerp.data.mini import read_flowseason
    from hydrointerp.training.cluster import cluster_stations

    table = pd.read_csv(
        shared_data / "station_attributes" / "station_glacier_226.csv", dtype={"id": str}
    )
    ids = table["id"].str.strip().tolist()
    season = read_flowseason(shared_data.parent)
    cluster = cluster_stations(season, table["latitude"].values, table["longitude"].values)
    gf = xr.DataArray(table["glacier_fraction"].values, dims="station", coords={"station": ids})
    groups = regime_groups(gf, cluster.assign_coords(station=ids))
    counts = groups.to_series().value_counts().to_dict()
    # METHODS.md section 6.0: 45 glacial; nival Central 22, Southern 58, North-Western 28,
    # North-Eastern 27, Eastern 34; pluvial = Coastal 12
    assert counts == {
        "Glacial": 45,
        "Central": 22,
        "Southern": 58,
        "North-Western": 28,
        "North-Eastern": 27,
        "Eastern": 34,
        "Coastal": 12,
    }
    assert (groups["regime"] == "pluvial").sum() == 12
    glacial_clusters = cluster.values[groups.values == "Glacial"]
    assert sorted(np.bincount(glacial_clusters, minlength=6).tolist()) == [0, 0, 0, 4, 11, 30]


def test_write_experiment_is_resumable_by_settings(tmp_path) -> None:
    ds = xr.Dataset(
        {"x": ("station", np.arange(3.0))},
        coords={"station": np.array(["a", "b", "c"], dtype=object)},
    )
    settings = {"seed": 1, "quick": True, "clusters": None, "channels": [0, 1]}
    path = write_experiment(ds, tmp_path, "heat_map", settings)
    assert path == experiment_path(tmp_path, "heat_map")
    assert experiment_done(tmp_path, "heat_map", settings)
    assert not experiment_done(tmp_path, "heat_map", {**settings, "seed": 2})
    assert not experiment_done(tmp_path, "daily", settings)
    back = read_experiment(tmp_path, "heat_map")
    assert back.attrs["Conventions"] == "CF-1.8" and back.attrs["setting_seed"] == 1
    assert back.attrs["setting_quick"] == 1 and "hydrointerp" in back.attrs["history"]
    np.testing.assert_array_equal(back["x"].values, [0.0, 1.0, 2.0])
    assert not list(tmp_path.glob("experiments/.*tmp"))
