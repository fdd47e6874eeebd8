"""The virtual region: layout of the truth, water balance, regimes, determinism, noise and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.ndimage import label
from scipy.stats import spearmanr

from hydrointerp.data.virtual import (
    COMPONENTS,
    REGIMES,
    VirtualRegionConfig,
    generate_region,
    water_balance,
)
from hydrointerp.data.virtual_terrain import EARTH_KM_PER_DEG

from .conftest import SMALL


def _monthly(region: xr.Dataset) -> xr.DataArray:
    """Mean flow by calendar month after the spin-up: ``(month, station, component)``."""
    fc = region["flow_component"].sel(time=slice(region.attrs["spinup_end"], None))
    return fc.groupby("time.month").mean()


def _peak_month(monthly: xr.DataArray) -> np.ndarray:
    return monthly.sum("component").argmax("month").values + 1


def test_layout_of_default_region(default_region: xr.Dataset) -> None:
    r = default_region
    assert dict(r.sizes) == {
        "time": 4748,
        "lat": 12,
        "lon": 32,
        "channel": 3,
        "station": 60,
        "component": 3,
    }
    assert r["time"].values[0] == np.datetime64("1999-01-01")
    assert r["time"].values[-1] == np.datetime64("2011-12-31")
    np.testing.assert_allclose(r["lat"].values[[0, -1]], [56.25, 48.0])
    np.testing.assert_allclose(r["lon"].values[[0, -1]], [-133.0, -109.75])
    assert list(r["component"].values) == list(COMPONENTS)
    assert set(r["regime"].values) == set(REGIMES)
    assert VirtualRegionConfig.from_json(r.attrs["virtual_config"]) == VirtualRegionConfig(seed=1)
    assert r["flow_component"].attrs["units"] == "m3 s-1"


def test_components_sum_exactly_to_flow(default_region: xr.Dataset) -> None:
    total = default_region["flow_component"].values.sum(axis=-1)
    np.testing.assert_array_equal(default_region["flow"].values, total)
    assert (default_region["flow_component"].values >= 0).all()
    assert not np.isnan(default_region["flow"].values).any()


def test_terrain_and_weather_physics(default_region: xr.Dataset) -> None:
    r = default_region
    elev, land = r["elevation"].values, r["land"].values.astype(bool)
    assert land[-1, 0] == 0 and land[0, -1] == 1  # ocean in the south-west, plains in the east
    assert (elev[~land] == 0).all() and elev.max() > 2200
    w = r["weather"]
    assert (w.sel(channel="tmax") >= w.sel(channel="tmin")).all()
    annual_p = w.sel(channel="precip").mean("time").values * 365.25
    coast_range = annual_p[land & (r["lon"].values[None, :] < -125)].max()
    plains = annual_p[:, -3:].mean()
    assert coast_range > 3 * plains  # wet windward coast, dry plains in the shadow
    wet = (w.sel(channel="precip") > 0).mean().item()
    assert 0.2 < wet < 0.8  # intermittent
    tmean = w.sel(channel=["tmax", "tmin"]).mean("channel")
    amp = tmean.groupby("time.month").mean().sel(month=7) - tmean.groupby("time.month").mean().sel(
        month=1
    )
    assert amp.values[6, -1] > amp.values[6, 3] + 10  # continentality grows eastward
    # lapse rate: July temperature falls with elevation across land cells
    jul = tmean.groupby("time.month").mean().sel(month=7).values
    slope = np.polyfit(elev[land], jul[land], 1)[0] * 1000
    assert -9 < slope < -3


def test_basins_are_contiguous_with_true_attributes(default_region: xr.Dataset) -> None:
    r = default_region
    lat = r["lat"].values
    area = (0.75 * EARTH_KM_PER_DEG) ** 2 * np.cos(np.deg2rad(lat))[:, None]
    for s in range(r.sizes["station"]):
        mask = r["basin_mask"].values[s]
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert label(mask, structure=np.ones((3, 3)))[1] == 1
        row = int(np.argmin(np.abs(lat - r["station_lat"].values[s])))
        col = int(np.argmin(np.abs(r["lon"].values - r["station_lon"].values[s])))
        assert mask[row, col] == 1  # the gauge sits in its basin
        assert (r["land"].values[mask > 0] == 1).all()
        w = mask * area
        assert r["area_km2"].values[s] == pytest.approx(w.sum(), rel=1e-9)
        mean_elev = (w * r["elevation"].values).sum() / w.sum()
        assert r["elevation_m"].values[s] == pytest.approx(mean_elev, rel=1e-5)
        glacier = (w * r["glacier_cell_fraction"].values).sum() / w.sum()
        assert r["glacier_fraction"].values[s] == pytest.approx(glacier, rel=1e-5, abs=1e-7)
    gf = r["glacier_fraction"].values[r["regime"].values == "glacial"]
    assert gf.min() < 0.1 and gf.max() > 0.5


def test_water_balance_closes_per_basin(default_region: xr.Dataset) -> None:
    r = default_region
    area = r["area_km2"].values
    cell_area = (0.75 * EARTH_KM_PER_DEG) ** 2 * np.cos(np.deg2rad(r["lat"].values))
    p = r["weather"].sel(channel="precip").values.astype(np.float64)
    precip = np.einsum("tij,sij,i->s", p, r["basin_mask"].values, cell_area) / area  # mm
    flow = r["flow"].values.astype(np.float64).sum(axis=0) * 86400 / 1e3 / area  # mm
    wb = water_balance(r)
    budget = flow + wb["evaporation"].values + wb["storage_change"].values
    budget += wb["ice_change"].values
    np.testing.assert_allclose(budget, precip, rtol=0.01)
    np.testing.assert_allclose(wb["precip"].values, precip, rtol=1e-5)
    assert (wb["evaporation"].values > 0).all()
    glacial = r["regime"].values == "glacial"
    # most glaciers lose mass to melt; a cold, wet one may gain firn
    assert (wb["ice_change"].values[glacial] < 0).mean() > 0.8
    ice_free = r["glacier_fraction"].values == 0
    assert ice_free.sum() > 20 and (wb["ice_change"].values[ice_free] == 0).all()


def test_pluvial_stations_peak_in_winter_from_rain(default_region: xr.Dataset) -> None:
    m = _monthly(default_region)
    pluvial = default_region["regime"].values == "pluvial"
    assert np.isin(_peak_month(m)[pluvial], [11, 12, 1, 2]).mean() >= 0.9
    winter = m.sel(month=[11, 12, 1, 2]).sum("month").isel(station=pluvial)
    assert (winter.sel(component="rain") / winter.sum("component") > 0.8).all()


def test_nival_stations_peak_in_spring_from_snowmelt(default_region: xr.Dataset) -> None:
    m = _monthly(default_region)
    nival = default_region["regime"].values == "nival"
    assert np.isin(_peak_month(m)[nival], [5, 6]).mean() >= 0.8
    spring = m.sel(month=[5, 6]).sum("month").isel(station=nival)
    assert (spring.sel(component="snowmelt") / spring.sum("component") > 0.5).mean() >= 0.8


def test_glacial_stations_peak_in_summer_from_glacier_melt(default_region: xr.Dataset) -> None:
    r = default_region
    m = _monthly(r)
    glacial = r["regime"].values == "glacial"
    gf = r["glacier_fraction"].values[glacial]
    peak = _peak_month(m)[glacial]
    # basins with a few % of ice can still peak with the June snowmelt, as real ones do
    assert np.isin(peak, [7, 8]).mean() >= 0.75
    assert np.isin(peak[gf >= 0.3], [7, 8]).all()
    summer = m.sel(month=[7, 8]).sum("month").isel(station=glacial)
    share = (summer.sel(component="glacier_melt") / summer.sum("component")).values
    assert np.median(share) > 0.5
    # (a cold, wet coast-range glacier may barely melt: most, not all, large glaciers)
    assert (share[gf >= 0.3] > 0.4).mean() >= 0.9
    # grows with glacier cover: the share (large vs small glaciers) and the melt per unit area
    assert share[gf >= 0.3].mean() > share[gf < 0.15].mean() + 0.15
    melt_mm = summer.sel(component="glacier_melt").values / r["area_km2"].values[glacial]
    assert spearmanr(gf, melt_mm).statistic > 0.5
    ice_free = r["glacier_fraction"].values == 0
    assert (r["flow_component"].sel(component="glacier_melt").values[:, ice_free] == 0).all()


def test_same_seed_same_region_other_seed_differs() -> None:
    a = generate_region(VirtualRegionConfig(seed=5, **SMALL))
    b = generate_region(VirtualRegionConfig(seed=5, **SMALL))
    xr.testing.assert_identical(a, b)
    c = generate_region(VirtualRegionConfig(seed=6, **SMALL))
    assert not np.array_equal(a["weather"].values, c["weather"].values)
    assert not np.array_equal(a["flow"].values, c["flow"].values)


def test_small_configuration_has_all_regimes(small_region: xr.Dataset) -> None:
    assert dict(small_region.sizes)["station"] == 8
    assert set(small_region["regime"].values) == set(REGIMES)
    assert small_region.sizes["time"] == len(pd.date_range("1999-01-01", "2001-12-31"))


def test_noise_and_gaps_leave_components_noise_free(small_region: xr.Dataset) -> None:
    cfg = VirtualRegionConfig(seed=3, noise_sd=0.1, missing_fraction=0.1, **SMALL)
    noisy = generate_region(cfg)
    xr.testing.assert_identical(noisy["flow_component"], small_region["flow_component"])
    flow = noisy["flow"].values
    missing = np.isnan(flow).mean(axis=0)
    np.testing.assert_allclose(missing, 0.1, atol=0.002)
    clean = small_region["flow"].values
    ok = ~np.isnan(flow) & (clean > 0)
    ratio = np.log(flow[ok] / clean[ok])
    assert ratio.std() == pytest.approx(0.1, rel=0.05)
    assert abs(ratio.mean() + 0.005) < 0.003  # log-normal with mean one
    runs = np.diff(np.isnan(flow[:, 0]).astype(int))
    assert (runs == 1).sum() < 0.1 * flow.shape[0] / 3  # gaps come in runs, not single days
