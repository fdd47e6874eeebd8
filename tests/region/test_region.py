"""RegionData: each validation rule raises its DataError; NaN flow allowed; save, load, select."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.data.region import load, make_region, save, select, validate
from hydrointerp.errors import DataError

N_DAYS, N_LAT, N_LON = 10, 3, 4
LAT = [50.0, 49.25, 48.5]
LON = [-120.0, -119.25, -118.5, -117.75]
IDS = ["A01", "B02"]


def _weather(n_days: int = N_DAYS) -> np.ndarray:
    rng = np.random.default_rng(0)
    w = np.empty((n_days, N_LAT, N_LON, 3), dtype=np.float32)
    w[..., 0] = 280.0 + rng.normal(0, 3, (n_days, N_LAT, N_LON))
    w[..., 1] = w[..., 0] - 8.0
    w[..., 2] = rng.gamma(0.5, 4.0, (n_days, N_LAT, N_LON))
    return w


def _args(**over: object) -> dict:
    mask = np.zeros((2, N_LAT, N_LON), dtype=np.float32)
    mask[0, :2, :2] = 1.0
    mask[1, 1:, 2:] = 0.5
    args = {
        "weather": _weather(),
        "time": pd.date_range("2001-03-01", periods=N_DAYS, freq="D"),
        "lat": LAT,
        "lon": LON,
        "flow": np.arange(N_DAYS * 2, dtype=np.float32).reshape(N_DAYS, 2),
        "station_ids": IDS,
        "basin_mask": mask,
        "glacier_fraction": [0.1, 0.0],
        "station_lat": [49.6, 48.9],
        "station_lon": [-119.6, -118.1],
    }
    args.update(over)
    return args


def _region(**over: object) -> xr.Dataset:
    return make_region(**_args(**over))


def _error(**over: object) -> DataError:
    with pytest.raises(DataError) as info:
        _region(**over)
    return info.value


def test_valid_region_has_model_layout() -> None:
    ds = _region()
    assert ds["weather"].dims == ("time", "lat", "lon", "channel")
    assert ds["flow"].dims == ("time", "station")
    assert ds["basin_mask"].dims == ("station", "lat", "lon")
    assert list(ds["channel"].values) == ["tmax", "tmin", "precip"]
    assert ds["flow"].attrs["units"] == "m3 s-1"
    assert ds["glacier_fraction"].values.tolist() == [0.1, 0.0]
    np.testing.assert_array_equal(ds["weather"].values, _weather())


def test_wrong_dimension_order_is_named() -> None:
    ds = _region()
    ds["flow"] = ds["flow"].transpose("station", "time")
    with pytest.raises(DataError) as info:
        validate(ds, "f.nc")
    err = info.value
    assert err.variable == "flow" and err.source == "f.nc"
    assert "wrong dimensions or order" in str(err)
    assert err.expected == ("time", "station") and err.found == ("station", "time")


def test_missing_variable_is_named() -> None:
    with pytest.raises(DataError, match="missing variable") as info:
        validate(_region().drop_vars("basin_mask"))
    assert info.value.variable == "basin_mask"


def test_non_daily_time_axis() -> None:
    err = _error(time=pd.date_range("2001-03-01", periods=N_DAYS, freq="2D"))
    assert err.variable == "time" and "not daily" in err.problem


def test_gappy_time_axis_names_the_gap() -> None:
    days = pd.date_range("2001-03-01", periods=N_DAYS + 1, freq="D").delete(4)
    err = _error(time=days)
    assert err.variable == "time"
    assert "2001-03-04" in str(err.found) and "2001-03-06" in str(err.found)


def test_sub_daily_stamps_rejected() -> None:
    err = _error(time=pd.date_range("2001-03-01 12:00", periods=N_DAYS, freq="D"))
    assert err.variable == "time" and "midnight" in err.problem


def test_latitude_must_run_north_to_south() -> None:
    err = _error(lat=LAT[::-1])
    assert err.variable == "lat" and "north to south" in err.problem


def test_longitude_must_run_west_to_east() -> None:
    err = _error(lon=LON[::-1])
    assert err.variable == "lon" and "west to east" in err.problem


def test_unknown_channel_name() -> None:
    err = _error(channels=("tmax", "tmin", "rain"))
    assert err.variable == "channel" and err.found == ["rain"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weather(bad: float) -> None:
    w = _weather()
    w[3, 1, 2, 0] = bad
    err = _error(weather=w)
    assert err.variable == "weather" and "NaN or inf" in err.problem and "1 bad" in err.found


def test_negative_precipitation() -> None:
    w = _weather()
    w[2, 0, 0, 2] = -0.5
    err = _error(weather=w)
    assert err.variable == "weather[precip]" and err.found == -0.5


def test_flow_not_matching_stations() -> None:
    err = _error(flow=np.zeros((N_DAYS, 3), dtype=np.float32))
    assert err.variable == "flow" and err.expected == (N_DAYS, 2) and err.found == (N_DAYS, 3)


def test_weather_not_matching_grid() -> None:
    err = _error(weather=_weather()[:, :, :3])
    assert err.variable == "weather" and err.found == (N_DAYS, N_LAT, 3, 3)


@pytest.mark.parametrize("value", [1.5, -0.1, np.nan])
def test_basin_mask_out_of_unit_interval(value: float) -> None:
    mask = np.zeros((2, N_LAT, N_LON), dtype=np.float32)
    mask[1, 2, 3] = value
    err = _error(basin_mask=mask)
    assert err.variable == "basin_mask" and "[0, 1]" in err.problem


def test_inf_flow_rejected_but_nan_flow_allowed() -> None:
    flow = np.ones((N_DAYS, 2), dtype=np.float32)
    flow[3:6, 1] = np.nan
    ds = _region(flow=flow)
    assert int(np.isnan(ds["flow"].values).sum()) == 3
    flow[0, 0] = np.inf
    assert _error(flow=flow).variable == "flow"


def test_duplicate_station_ids() -> None:
    assert _error(station_ids=["A01", "A01"]).variable == "station"


def test_save_load_round_trip_is_atomic(tmp_path: Path) -> None:
    flow = np.linspace(0, 5, N_DAYS * 2, dtype=np.float32).reshape(N_DAYS, 2)
    flow[2, 0] = np.nan
    ds = _region(flow=flow, names=["Alpha Creek", "Beta River"])
    path = save(ds, tmp_path / "sub" / "region.nc")
    assert sorted(p.name for p in path.parent.iterdir()) == ["region.nc"]
    back = load(path)
    for name in ("weather", "flow", "basin_mask"):
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert list(back["station"].values) == IDS
    assert list(back["name"].values) == ["Alpha Creek", "Beta River"]
    assert back["time"].values[0] == np.datetime64("2001-03-01")
    assert back["flow"].attrs["units"] == "m3 s-1"


def test_failed_save_leaves_no_file(tmp_path: Path) -> None:
    ds = _region()
    ds["basin_mask"][0, 0, 0] = 2.0
    with pytest.raises(DataError):
        save(ds, tmp_path / "region.nc")
    assert list(tmp_path.iterdir()) == []


def test_load_reports_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load(tmp_path / "absent.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(DataError, match="cannot read NetCDF") as info:
        load(junk)
    assert info.value.source == str(junk)


def test_select_stations_and_period() -> None:
    ds = _region()
    sub = select(ds, stations=["B02"], start="2001-03-03", end="2001-03-05")
    assert list(sub["station"].values) == ["B02"]
    assert sub.sizes["time"] == 3
    np.testing.assert_array_equal(sub["flow"].values[:, 0], [5.0, 7.0, 9.0])
    assert sub["basin_mask"].values.sum() == pytest.approx(4 * 0.5)
    with pytest.raises(DataError, match="unknown station ids"):
        select(ds, stations=["ZZZ"])
