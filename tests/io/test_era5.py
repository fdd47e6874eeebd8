"""ERA5 reader on small files written in the real CDS layouts: every branch and every error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from io_rawfiles import era5_dataset, smooth_weather, write_era5

from hydrointerp.errors import DataError
from hydrointerp.io import Grid, read_era5
from hydrointerp.io.era5_days import IncompleteDayWarning

pytestmark = pytest.mark.filterwarnings("ignore::hydrointerp.io.era5_days.IncompleteDayWarning")

LAT = np.array([49.5, 50.25, 51.0, 51.75])  # ascending on purpose
LON360 = np.array([238.5, 239.25, 240.0, 240.75, 241.5])  # 0..360 longitudes
GRID = Grid(north=51.75, south=49.5, west=-121.5, east=-118.5, resolution=0.75)


def _hourly(
    start: str, days: int, seed: int = 0
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    times = pd.date_range(start, periods=24 * days, freq="h")
    t2m, tp = smooth_weather(times, LAT, LON360, seed)
    return times, t2m, tp


def _expected_hourly(times, t2m, tp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily tmax/tmin/precip of whole 01..00 UTC days, oriented N->S and W->E, in K and mm."""
    first = int(np.flatnonzero(times.hour == 1)[0])
    n = (len(times) - first) // 24
    t = t2m[first : first + 24 * n].reshape(n, 24, *t2m.shape[1:])[:, :, ::-1, :]
    p = tp[first : first + 24 * n].reshape(n, 24, *tp.shape[1:])[:, :, ::-1, :]
    return t.max(1), t.min(1), 1000.0 * p.sum(1)


def test_valid_time_lon360_expver_number_hourly(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 4)
    path = write_era5(tmp_path / "a.nc", era5_dataset(times, LAT, LON360, t2m, tp))
    with pytest.warns(IncompleteDayWarning, match="dropped 1 step"):
        w = read_era5(path, grid=GRID)
    assert w.dims == ("time", "lat", "lon", "channel")
    assert w.attrs["regrid"] == "nearest" and w.attrs["recipe"] == "hourly"
    np.testing.assert_allclose(w["lat"], LAT[::-1])
    np.testing.assert_allclose(w["lon"], LON360 - 360)
    tmax, tmin, precip = _expected_hourly(times, t2m, tp)
    values = w.compute().values
    assert values.shape == (3, 4, 5, 3)
    np.testing.assert_allclose(values[..., 0], tmax, rtol=1e-6)
    np.testing.assert_allclose(values[..., 1], tmin, rtol=1e-6)
    np.testing.assert_allclose(values[..., 2], precip, rtol=1e-5)


def test_six_hourly_published_with_expver_dimension_and_split_files(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 6, seed=1)
    six = np.flatnonzero(times.hour % 6 == 0)
    # temperature and precipitation in separate files, time split in two, old expver dimension
    for k, part in enumerate((six[:12], six[12:])):
        ds = era5_dataset(
            times[part], LAT, LON360, t2m[part], tp[part], time_name="time", expver="dim"
        )
        write_era5(tmp_path / f"t2m_{k}.nc", ds[["t2m"]])
        write_era5(tmp_path / f"tp_{k}.nc", ds[["tp"]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteDayWarning)
        w = read_era5(str(tmp_path / "*.nc"), grid="native", recipe="published").compute()
    t = t2m[six].reshape(6, 4, 4, 5)[:, :, ::-1, :]
    p = tp[six].reshape(6, 4, 4, 5)[:, :, ::-1, :] * 1000
    np.testing.assert_allclose(w.sel(channel="tmax").values, t.max(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="tmin").values, t.min(1), rtol=1e-6)
    np.testing.assert_allclose(w.sel(channel="precip").values, p.sum(1), rtol=1e-5)


def test_long_names_celsius_and_rate_units(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 3, seed=2)
    ds = era5_dataset(
        times,
        LAT,
        LON360,
        t2m - 273.15,
        tp * 1000 / 3600,
        names=("temp", "rain"),
        units=("degC", "kg m**-2 s**-1"),
    )
    w = read_era5(write_era5(tmp_path / "b.nc", ds), grid="native")
    tmax, tmin, precip = _expected_hourly(times, t2m, tp)
    values = w.compute().values
    np.testing.assert_allclose(values[..., 0], tmax, atol=1e-3)
    np.testing.assert_allclose(values[..., 2], precip, rtol=1e-4)


def test_block_mean_and_bilinear_regridding(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 2, seed=3)
    path = write_era5(tmp_path / "c.nc", era5_dataset(times, LAT, LON360, t2m, tp))
    native = read_era5(path, grid="native").compute()
    coarse = Grid(lat=(51.375, 49.875), lon=(-121.125, -119.625))  # 2x2 blocks of 0.75 cells
    w = read_era5(path, grid=coarse).compute()
    assert w.attrs["regrid"] == "conservative"
    block = native.isel(lat=[0, 1], lon=[0, 1]).mean(("lat", "lon"))
    np.testing.assert_allclose(w.isel(lat=0, lon=0).values, block.values, rtol=1e-6)
    nested = Grid(lat=(51.0,), lon=(-120.0,), resolution=1.5)  # centres shared with the source
    n = read_era5(path, grid=nested).compute()
    assert n.attrs["regrid"] == "conservative"
    kernel = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])  # overlap of 0.75 cells in a 1.5 cell
    around = native.sel(lat=[51.75, 51.0, 50.25], lon=[-120.75, -120.0, -119.25])
    expected = (around * xr.DataArray(kernel, dims=("lat", "lon"))).sum(("lat", "lon"))
    np.testing.assert_allclose(n.isel(lat=0, lon=0).values, expected.values, rtol=1e-5)
    fine = Grid(lat=(50.625,), lon=(-120.375,))  # midway between four cells
    b = read_era5(path, grid=fine).compute()
    assert b.attrs["regrid"] == "bilinear"
    corners = native.sel(lat=[51.0, 50.25], lon=[-120.75, -120.0]).mean(("lat", "lon"))
    np.testing.assert_allclose(b.isel(lat=0, lon=0).values, corners.values, rtol=1e-6)


def test_daily_statistics_input(tmp_path) -> None:
    days = pd.date_range("2001-01-01", periods=5, freq="D")
    rng = np.random.default_rng(4)
    shape = (5, 4, 5)
    ds = xr.Dataset(
        {
            "mx2t": (("time", "latitude", "longitude"), 280 + rng.random(shape), {"units": "K"}),
            "mn2t": (("time", "latitude", "longitude"), 270 + rng.random(shape), {"units": "K"}),
            "tp": (("time", "latitude", "longitude"), rng.random(shape) / 100, {"units": "m"}),
        },
        coords={"time": days, "latitude": LAT, "longitude": LON360},
    )
    w = read_era5(write_era5(tmp_path / "d.nc", ds), grid="native", recipe="daily").compute()
    np.testing.assert_allclose(
        w.sel(channel="precip").values, ds["tp"].values[:, ::-1] * 1000, rtol=1e-6
    )
    np.testing.assert_allclose(w.sel(channel="tmin").values, ds["mn2t"].values[:, ::-1], rtol=1e-6)


def _error(tmp_path, ds: xr.Dataset, name: str = "bad.nc", **kwargs) -> DataError:
    path = write_era5(tmp_path / name, ds)
    with pytest.raises(DataError) as info:
        read_era5(path, grid="native", **kwargs).compute()
    assert str(path) in str(info.value)
    return info.value


def test_missing_variable(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 2)
    ds = era5_dataset(times, LAT, LON360, t2m, tp).drop_vars("tp")
    err = _error(tmp_path, ds)
    assert err.variable == "tp" and "Total precipitation".lower() in str(err.expected)


def test_wrong_units(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 2)
    ds = era5_dataset(times, LAT, LON360, t2m, tp, units=("degF", "m"))
    err = _error(tmp_path, ds)
    assert err.variable == "t2m" and err.found == "degF" and "K" in str(err.expected)
    ds = era5_dataset(times, LAT, LON360, t2m, tp, units=("K", "inches"))
    err = _error(tmp_path, ds, "bad2.nc")
    assert err.variable == "tp" and err.found == "inches"


def test_gap_in_time(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01", 3)
    keep = np.r_[0:30, 31 : len(times)]
    ds = era5_dataset(times[keep], LAT, LON360, t2m[keep], tp[keep])
    err = _error(tmp_path, ds)
    assert err.variable == "time" and "gap" in err.problem and "2001-01-02 05:00" in err.found


def test_corrupt_file_and_uncovered_grid(tmp_path) -> None:
    bad = tmp_path / "corrupt.nc"
    bad.write_bytes(b"CDF\x01 this is not a netcdf file" * 10)
    with pytest.raises(DataError, match="cannot read NetCDF.*corrupt.nc"):
        read_era5(bad)
    times, t2m, tp = _hourly("2001-01-01", 2)
    path = write_era5(tmp_path / "small.nc", era5_dataset(times, LAT, LON360, t2m, tp))
    with pytest.raises(DataError, match="do not cover the target grid") as info:
        read_era5(path)  # the 12 x 32 study grid is far larger than this file
    assert info.value.variable == "lat"


def test_packing_noise_clipped_but_real_negatives_kept(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 1)
    tp = tp.copy()
    tp[0, 0, 0] = -1e-6  # -0.001 mm: packing noise -> 0
    tp[0, 1, 1] = -1e-4  # -0.1 mm: a real error, left for validation to report
    w = read_era5(
        write_era5(tmp_path / "n.nc", era5_dataset(times, LAT, LON360, t2m, tp)), grid="native"
    ).compute()
    p = w.sel(channel="precip").values[0]  # rows north -> south: LAT index i is row 3 - i
    expected = tp.copy()
    expected[0, 0, 0] = 0.0
    np.testing.assert_allclose(p[3, 0], 1000 * expected[:, 0, 0].sum(), rtol=1e-5)
    np.testing.assert_allclose(p[2, 1], 1000 * tp[:, 1, 1].sum(), rtol=1e-5)


def test_ensemble_members_rejected(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 1)
    ds = era5_dataset(times, LAT, LON360, t2m, tp).drop_vars("number")
    ds = xr.concat([ds, ds], dim=pd.Index([0, 1], name="number"))
    err = _error(tmp_path, ds)
    assert err.variable == "number" and err.found == "2 members"
