"""Real files of the shared folder: HYDAT subset vs the WSC export, the raw ERA5 sample, Salmon."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.io import Grid, basin_masks, read_era5, read_hydat, read_outlines, read_wsc_csv
from hydrointerp.io.era5_days import IncompleteDayWarning
from hydrointerp.io.grid import cell_area_km2
from hydrointerp.io.wsc import read_station_netcdf


def test_tinyhydat_matches_the_wsc_export(shared_data) -> None:
    hydat = read_hydat(
        shared_data / "hydat" / "tinyhydat.sqlite3", ["05AA008"], "1979-01-01", "2015-12-31"
    )
    export = read_wsc_csv(shared_data / "wsc_daily_flow" / "wsc_daily_flow_7stations_1979_2015.csv")
    a = hydat["flow"].sel(station="05AA008")
    b = export["flow"].sel(station="05AA008").sel(time=a["time"])
    assert a.sizes["time"] == 13514
    np.testing.assert_array_equal(np.isnan(a.values), np.isnan(b.values))
    max_diff = float(np.nanmax(np.abs(a.values - b.values)))
    print(f"05AA008 1979-2015: max |HYDAT - WSC export| = {max_diff} m3/s")
    assert max_diff <= 1e-6
    assert hydat["name"].item() == "CROWSNEST RIVER AT FRANK"
    assert hydat["area_km2"].item() == 403.0
    assert hydat["province"].item() == "AB" and hydat["regulated"].item() == 0.0
    symbols = hydat["flow_symbol"].sel(station="05AA008").to_series()
    assert set(symbols.unique()) <= {"", "A", "B", "E"} and (symbols == "B").sum() > 0


def test_hydat_short_months_and_unknown_station(shared_data) -> None:
    path = shared_data / "hydat" / "tinyhydat.sqlite3"
    ds = read_hydat(path, ["08MF005", "05AA008"], "2000-02-01", "2000-03-31")
    assert list(ds["station"].values) == ["08MF005", "05AA008"]
    assert ds.sizes["time"] == 29 + 31  # Feb 30/31 dropped, leap day kept
    assert ds["regulated"].sel(station="08MF005").item() == 1.0
    with pytest.raises(Exception, match="unknown station id.*tinyhydat.*99ZZ999"):
        read_hydat(path, ["05AA008", "99ZZ999"])


def _sample(shared_data) -> xr.Dataset:
    return xr.open_dataset(shared_data / "era5_samples" / "era5_hourly_t2m_tp_20180101-20180108.nc")


def test_era5_sample_hourly_recipe_against_numpy(shared_data) -> None:
    raw = _sample(shared_data)
    t = raw["tas"].values
    p = raw["pr"].values * 1000.0  # m -> mm
    with pytest.warns(IncompleteDayWarning):
        w = read_era5(
            shared_data / "era5_samples" / "era5_hourly_t2m_tp_20180101-20180108.nc",
            grid="native",
        ).compute()
    # hour-ending accumulations: day D = 01 UTC of D .. 00 UTC of D+1 -> steps 1..168
    blocks_t = t[1:169].reshape(7, 24)
    blocks_p = p[1:169].reshape(7, 24)
    assert list(pd.DatetimeIndex(w["time"].values).day) == [1, 2, 3, 4, 5, 6, 7]
    assert float(w["lon"].item()) == pytest.approx(236.75 - 360)
    np.testing.assert_allclose(w.sel(channel="tmax").values.ravel(), blocks_t.max(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="tmin").values.ravel(), blocks_t.min(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="precip").values.ravel(), blocks_p.sum(1), rtol=1e-5)


def test_era5_sample_published_recipe_against_numpy(shared_data) -> None:
    raw = _sample(shared_data)
    t = raw["tas"].values.reshape(8, 24)[:, [0, 6, 12, 18]]
    p = raw["pr"].values.reshape(8, 24)[:, [0, 6, 12, 18]] * 1000.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteDayWarning)  # 8 whole UTC days: nothing dropped
        w = read_era5(
            shared_data / "era5_samples" / "era5_hourly_t2m_tp_20180101-20180108.nc",
            grid="native",
            recipe="published",
        ).compute()
    assert w.sizes["time"] == 8
    np.testing.assert_allclose(w.sel(channel="tmax").values.ravel(), t.max(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="tmin").values.ravel(), t.min(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="precip").values.ravel(), p.sum(1), rtol=1e-5)


def test_salmon_river_files_and_basin_mask(shared_data) -> None:
    folder = shared_data / "salmon_08KC001"
    ds = read_station_netcdf(folder / "Salmon-River-Near-Prince-George_meteo_daily.nc")
    raw = xr.open_dataset(folder / "Salmon-River-Near-Prince-George_meteo_daily.nc")["qobs"]
    n_code = int(np.isclose(raw.values, -1.2345).sum())
    assert n_code > 0
    assert int(ds["flow"].isnull().sum()) == n_code
    assert np.nanmin(ds["flow"].values) >= 0
    assert ds["station"].item() == "08KC001" and ds["station_lat"].item() == pytest.approx(54.4848)

    era5 = read_era5(
        folder / "ERA5_weather_data_Salmon.nc",
        grid="native",
        recipe="daily",
        location=(54.4848, -123.3659),
    ).compute()
    src = xr.open_dataset(folder / "ERA5_weather_data_Salmon.nc")
    np.testing.assert_allclose(
        era5.sel(channel="tmax").values.ravel(), src["tmax"].values + 273.15, rtol=1e-6
    )
    np.testing.assert_allclose(era5.sel(channel="precip").values.ravel(), src["pr"].values)

    outlines = read_outlines(folder / "salmon_river.geojson", id_column="id")
    outlines.index = ["08KC001"]
    grid = Grid.study()
    mask = basin_masks(outlines, grid)
    assert mask.dims == ("station", "lat", "lon") and mask.shape == (1, 12, 32)
    area_cells = float((mask * cell_area_km2(grid)).sum())
    basin_km2 = float(outlines.to_crs("ESRI:102001").area.iloc[0] / 1e6)
    print(f"Salmon basin {basin_km2:.0f} km2, mask-weighted cell area {area_cells:.0f} km2")
    assert area_cells == pytest.approx(basin_km2, rel=0.02)
    assert basin_km2 == pytest.approx(4194.7, rel=0.03)  # HydroBASINS SUB_AREA of the outline
    assert float(mask.max()) <= 1.0 and int((mask > 0).sum()) >= 2
