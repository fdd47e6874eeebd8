"""ERA5 values that would give silently wrong weather: missing steps, wrong units, implausible.

Each case is a small file in the real CDS layout; the error must name the file, the variable,
the expected and the found values, on one line, and ``build-region`` must leave no file behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from io_rawfiles import era5_dataset, smooth_weather, write_build_inputs, write_era5

from hydrointerp.errors import DataError
from hydrointerp.io import read_era5
from hydrointerp.io.era5_checks import PLAUSIBLE, check_precip_units

pytestmark = pytest.mark.filterwarnings("ignore::hydrointerp.io.era5_days.IncompleteDayWarning")

LAT = np.array([49.5, 50.25, 51.0, 51.75])
LON360 = np.array([238.5, 239.25, 240.0, 240.75, 241.5])


def _hourly(start: str, days: int, seed: int = 0):
    times = pd.date_range(start, periods=24 * days, freq="h")
    t2m, tp = smooth_weather(times, LAT, LON360, seed)
    return times, t2m, tp


def _read_error(path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        read_era5(path, grid="native", **kwargs).compute()
    message = str(info.value)
    assert "\n" not in message and "<memory>" not in message
    return info.value


def test_nan_hour_of_t2m_is_an_error_not_skipped(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 3)
    t2m[30, 2, 1] = np.nan  # 2001-01-02 07 UTC: day 2001-01-02
    path = write_era5(tmp_path / "t.nc", era5_dataset(times, LAT, LON360, t2m, tp))
    err = _read_error(path)
    assert err.source == str(path)
    assert err.variable == "t2m (channel tmax)"
    assert err.expected == "a value at every step of every day"
    # LAT index 2 is 51.0; LON360 index 1 is 239.25 = -120.75
    assert err.found == "1 missing cell-days, the first on 2001-01-02 at lat 51, lon -120.75"


def test_nan_day_of_tp_is_an_error_not_zero_mm(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 3)
    tp[48:72, 0, 4] = np.nan  # the whole of day 2001-01-03 in one cell
    path = write_era5(tmp_path / "p.nc", era5_dataset(times, LAT, LON360, t2m, tp))
    err = _read_error(path)
    assert err.variable == "tp (channel precip)" and err.source == str(path)
    assert err.found == "1 missing cell-days, the first on 2001-01-03 at lat 49.5, lon -118.5"


def test_bad_day_names_the_file_that_holds_it(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 4)
    tp[60, 1, 1] = np.nan  # day 2001-01-03, in the second file
    first = write_era5(tmp_path / "a.nc", era5_dataset(times[:48], LAT, LON360, t2m[:48], tp[:48]))
    second = write_era5(tmp_path / "b.nc", era5_dataset(times[48:], LAT, LON360, t2m[48:], tp[48:]))
    err = _read_error([first, second])
    assert err.source == str(second)


def test_kelvin_labelled_celsius_is_refused_and_a_range_can_be_widened(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 2)
    ds = era5_dataset(times, LAT, LON360, t2m, tp, units=("degC", "m"))
    path = write_era5(tmp_path / "k.nc", ds)
    err = _read_error(path)
    hint = "(values look like Kelvin labelled degC)"
    assert err.problem == f"implausible tmax after conversion to K {hint}"
    assert err.variable == "t2m (channel tmax)"
    lo, hi = PLAUSIBLE["tmax"]
    assert err.expected == f"[{lo:g}, {hi:g}] K (to allow more on purpose: era5.ranges)"
    first = float(t2m[:24, -1, 0].max()) + 273.15  # north-west cell: LAT[-1], LON[0]
    assert err.found.startswith(f"{first:.6g} K on 2001-01-01 at lat 51.75, lon -121.5")
    # widened on purpose, the same file reads (and keeps the values it was given)
    wide = {"tmax": (170.0, 700.0), "tmin": (170.0, 700.0)}
    w = read_era5(path, grid="native", ranges=wide).compute()
    assert float(w.sel(channel="tmax").isel(time=0, lat=0, lon=0)) == pytest.approx(first)
    with pytest.raises(DataError, match="unknown channel in ranges"):
        read_era5(path, grid="native", ranges={"t2m": (0.0, 1.0)})
    with pytest.raises(DataError, match=r"reversed range; variable: ranges.precip"):
        read_era5(path, grid="native", ranges={"precip": (10.0, 0.0)})


def test_metres_labelled_mm_is_refused(tmp_path) -> None:
    times, t2m, tp = _hourly("2001-01-01 01:00", 100)
    ds = era5_dataset(times, LAT, LON360, t2m, tp, units=("K", "mm"))
    weather = read_era5(write_era5(tmp_path / "m.nc", ds), grid="native").compute()
    with pytest.raises(DataError) as info:
        check_precip_units(weather)
    err = info.value
    assert "metres labelled mm" in err.problem and err.source == str(tmp_path / "m.nc")
    wettest = float(weather.sel(channel="precip").max())
    assert wettest < 0.5 and err.found == f"{wettest:.3g} mm"
    assert check_precip_units(weather, min_wettest_mm=0) is weather  # turned off on purpose
    right = era5_dataset(times, LAT, LON360, t2m, tp)  # the same values labelled m
    loaded = read_era5(write_era5(tmp_path / "ok.nc", right), grid="native").compute()
    assert check_precip_units(loaded) is loaded


def _build_config(tmp_path, flow_series, t2m_units: str = "K", tp_units: str = "m") -> str:
    times, t2m, tp = _hourly("2001-01-01 01:00", 100, seed=5)
    if t2m_units == "nan":
        t2m[500, 1, 2] = np.nan
        t2m_units = "K"
    ds = era5_dataset(times, LAT, LON360, t2m, tp, units=(t2m_units, tp_units))
    return str(write_build_inputs(tmp_path, ds, flow_series["08AA001"]))


@pytest.mark.parametrize(
    ("t2m_units", "tp_units", "variable", "problem"),
    [
        ("nan", "m", "t2m (channel", "missing ERA5 values"),
        ("degC", "m", "t2m (channel tmax)", "Kelvin labelled degC"),
        ("K", "mm", "tp (channel precip)", "metres labelled mm"),
    ],
)
def test_build_region_cli_refuses_bad_era5(
    tmp_path, flow_series, run_main, t2m_units, tp_units, variable, problem
) -> None:
    config = _build_config(tmp_path, flow_series, t2m_units, tp_units)
    code, err = run_main(["build-region", config])
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert problem in lines[0] and f"variable: {variable}" in lines[0]
    assert f"file: {tmp_path / 'era5.nc'}" in lines[0]
    assert "expected: " in lines[0] and "found: " in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_build_region_cli_good_era5_still_builds(tmp_path, flow_series, run_main) -> None:
    config = _build_config(tmp_path, flow_series)
    code, err = run_main(["build-region", config])
    assert code == 0, err
    assert (tmp_path / "out" / "region.nc").is_file()
