"""Fidelity scores on cases with a known answer, and the fidelity table/CLI on a run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.experiments.fidelity import (
    basin_share,
    curve_correlation,
    fidelity_table,
    magnitude_correlation,
    map_auc,
    pattern_melt_correlation,
    rank_correlation,
    sign_agreement,
)

LAT = np.linspace(56.25, 48.0, 12)
LON = np.linspace(-133.0, -109.75, 32)


def _basins(n: int = 8, seed: int = 0) -> xr.DataArray:
    """Rectangular 'basins' of random size and place on the 12 x 32 grid."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, 12, 32), np.float32)
    for s in range(n):
        r, c = rng.integers(0, 8), rng.integers(0, 26)
        mask[s, r : r + rng.integers(2, 5), c : c + rng.integers(2, 7)] = 1.0
    ids = [f"S{s}" for s in range(n)]
    return xr.DataArray(
        mask, dims=("station", "lat", "lon"), coords={"station": ids, "lat": LAT, "lon": LON}
    )


def _truth(basin: xr.DataArray, seed: int = 1) -> xr.DataArray:
    """A simulator-like map: positive, varying inside the basin, exactly zero outside."""
    rng = np.random.default_rng(seed)
    return basin * (0.5 + rng.random(basin.shape))


def test_truth_scored_against_itself_is_perfect() -> None:
    basin = _basins()
    truth = _truth(basin)
    assert np.allclose(basin_share(truth, basin), 1.0)
    assert np.allclose(rank_correlation(truth, truth), 1.0)
    assert np.allclose(map_auc(truth, truth), 1.0)
    # z-scoring (as the published post-processing does) changes nothing
    z = (truth - truth.mean(("lat", "lon"))) / truth.std(("lat", "lon"))
    assert np.allclose(basin_share(z, basin), 1.0) and np.allclose(map_auc(z, truth), 1.0)


def test_random_maps_score_at_chance() -> None:
    basin = _basins(n=40, seed=3)
    truth = _truth(basin)
    rng = np.random.default_rng(7)
    noise = xr.DataArray(rng.normal(size=truth.shape), dims=truth.dims, coords=truth.coords)
    auc = map_auc(noise, truth)
    assert abs(float(auc.mean()) - 0.5) < 0.05
    assert abs(float(rank_correlation(noise, truth).mean())) < 0.05
    area = float((basin > 0).mean())
    # a random map puts about the basin's area share of its sensitivity inside the basin
    assert abs(float(basin_share(noise, basin).mean()) - area) < 0.03


def test_partly_right_map_scores_in_between() -> None:
    basin = _basins(n=20, seed=5)
    truth = _truth(basin)
    rng = np.random.default_rng(2)
    noisy = truth + xr.DataArray(
        rng.normal(scale=0.5, size=truth.shape), dims=truth.dims, coords=truth.coords
    )
    auc = float(map_auc(noisy, truth).mean())
    assert 0.75 < auc < 1.0


def test_curve_sign_and_pattern_scores() -> None:
    t = pd.date_range("2011-01-01", periods=365)
    rng = np.random.default_rng(0)
    truth = xr.DataArray(
        rng.normal(size=(365, 3)),
        dims=("time", "group"),
        coords={"time": t, "group": ["Glacial", "Nival", "Pluvial"]},
    )
    assert np.allclose(curve_correlation(truth, truth), 1.0)
    assert np.allclose(curve_correlation(-truth, truth), -1.0)
    other = truth.copy(data=rng.normal(size=(365, 3)))
    assert np.all(np.abs(curve_correlation(other, truth)) < 0.2)
    assert sign_agreement(truth, truth) == 1.0 and sign_agreement(-truth, truth) == 0.0
    assert abs(sign_agreement(other, truth) - 0.5) < 0.05
    assert magnitude_correlation(2 * truth + 1, truth) == pytest.approx(1.0)
    melt = truth.isel(group=0)
    scores = pattern_melt_correlation(melt * 3, melt)
    assert scores["whole_year"] == pytest.approx(1.0) and scores["melt_season"] == pytest.approx(
        1.0
    )


def test_fidelity_table_from_run_folder(tmp_path) -> None:
    basin = _basins()
    truth = _truth(basin)
    region = xr.Dataset({"basin_mask": basin})
    exp = tmp_path / "experiments"
    (exp / "simulator").mkdir(parents=True)
    xr.Dataset({"sensitivity": truth}).to_netcdf(
        exp / "simulator" / "heat_map.nc", engine="h5netcdf"
    )
    rng = np.random.default_rng(0)
    noise = truth + xr.DataArray(
        rng.normal(scale=0.3, size=truth.shape), dims=truth.dims, coords=truth.coords
    )
    xr.Dataset({"sensitivity": noise}).to_netcdf(exp / "heat_map.nc", engine="h5netcdf")
    table = fidelity_table(tmp_path, region=region)
    assert list(table.columns) == ["experiment", "method", "metric", "value"]
    sim = table[(table.method == "simulator")].set_index("metric")["value"]
    net = table[(table.method == "perturbation")].set_index("metric")["value"]
    assert sim["auc"] == 1.0 and sim["rank_correlation"] == pytest.approx(1.0)
    assert 0.5 < net["auc"] < 1.0 and net["basin_share"] < sim["basin_share"]


def test_methods_are_told_apart_by_attribute_or_suffix(tmp_path) -> None:
    basin = _basins()
    truth = _truth(basin)
    exp = tmp_path / "experiments"
    (exp / "simulator").mkdir(parents=True)
    xr.Dataset({"sensitivity": truth}).to_netcdf(
        exp / "simulator" / "heat_map.nc", engine="h5netcdf"
    )
    rng = np.random.default_rng(1)
    for stem, attrs in (
        ("heat_map", {}),
        ("heat_map_saliency", {}),
        ("heat_map_ig", {"method": "integrated_gradients"}),
    ):
        noise = truth.copy(data=rng.normal(size=truth.shape))
        xr.Dataset({"sensitivity": noise}, attrs=attrs).to_netcdf(
            exp / f"{stem}.nc", engine="h5netcdf"
        )
    table = fidelity_table(tmp_path, region=xr.Dataset({"basin_mask": basin}))
    assert set(table["method"]) == {"simulator", "perturbation", "saliency", "integrated_gradients"}
    auc = table[table.metric == "auc"].set_index("method")["value"]
    assert auc["simulator"] == 1.0 and abs(auc["saliency"] - 0.5) < 0.15


def test_basin_auc_of_simulator_like_map_is_one() -> None:
    from hydrointerp.experiments.fidelity import basin_auc

    basin = _basins()
    truth = _truth(basin)
    assert np.allclose(basin_auc(truth, basin), 1.0)
    flipped = -truth  # sensitivity everywhere but the basin
    assert np.allclose(basin_auc(flipped, basin), 0.0)
