"""HYDAT-schema SQLite and WSC CSV files written by the test; station selection (METHODS 1.4)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from io_rawfiles import write_date_flow, write_hydat, write_wsc_export

from hydrointerp.errors import DataError
from hydrointerp.io import SelectionRules, read_hydat, read_wsc_csv, select_stations
from hydrointerp.io.flow import flow_dataset

STATIONS = [
    {
        "id": "08AA001",
        "name": "ALPHA CREEK",
        "prov": "BC",
        "lat": 50.1,
        "lon": -120.2,
        "area": 850.0,
        "reg": 0,
    },
    {
        "id": "08BB002",
        "name": "BETA RIVER",
        "prov": "BC",
        "lat": 50.9,
        "lon": -119.1,
        "area": 120.0,
        "reg": 1,
    },
]


def test_hydat_schema_sqlite(tmp_path, flow_series) -> None:
    symbols = {("08AA001", pd.Timestamp("2001-01-05")): "B"}
    path = write_hydat(tmp_path / "Hydat.sqlite3", STATIONS, flow_series, symbols)
    ds = read_hydat(path, ["08BB002", "08AA001"])
    assert list(ds["station"].values) == ["08BB002", "08AA001"]
    assert ds.sizes["time"] == 365 * 3
    for sid, series in flow_series.items():
        np.testing.assert_allclose(ds["flow"].sel(station=sid).values, series.values, rtol=1e-6)
    assert float(ds["flow"].max()) < 999  # FLOW29..31 past the month's end were dropped
    assert ds["flow_symbol"].sel(station="08AA001", time="2001-01-05").item() == "B"
    assert ds["flow_symbol"].sel(station="08AA001", time="2001-01-06").item() == ""
    assert ds["regulated"].values.tolist() == [1.0, 0.0]
    assert ds["area_km2"].values.tolist() == [120.0, 850.0]
    assert ds["name"].values.tolist() == ["BETA RIVER", "ALPHA CREEK"]
    cut = read_hydat(path, ["08AA001"], "2002-02-10", "2002-03-05")
    assert cut.sizes["time"] == 24
    np.testing.assert_allclose(
        cut["flow"].values[:, 0],
        flow_series["08AA001"]["2002-02-10":"2002-03-05"].values,
        rtol=1e-6,
    )


def test_hydat_errors(tmp_path, flow_series) -> None:
    path = write_hydat(tmp_path / "Hydat.sqlite3", STATIONS, flow_series)
    with pytest.raises(DataError) as info:
        read_hydat(path, ["08AA001", "07XX999"])
    err = info.value
    assert err.found == ["07XX999"] and err.source == str(path) and "STATION_NUMBER" in err.variable
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(DataError, match="corrupt.sqlite3"):
        read_hydat(corrupt, ["08AA001"])
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE X (a INT)").connection.commit()
    with pytest.raises(DataError, match="not a HYDAT database") as info:
        read_hydat(other, ["08AA001"])
    assert "DLY_FLOWS" in info.value.variable


def test_wsc_csv_layouts_agree(tmp_path, flow_series) -> None:
    export = write_wsc_export(tmp_path / "export.csv", flow_series)
    a = read_wsc_csv(export)
    files = [
        write_date_flow(tmp_path / f"{sid}_Daily_Flow_ts.csv", s) for sid, s in flow_series.items()
    ]
    b = read_wsc_csv(files)
    wide = pd.DataFrame(flow_series)
    wide.index.name = "date"
    wide.to_csv(tmp_path / "wide.csv")
    c = read_wsc_csv(tmp_path / "wide.csv")
    for ds in (a, b, c):
        assert list(ds["station"].values) == ["08AA001", "08BB002"]
        for sid, series in flow_series.items():
            np.testing.assert_allclose(ds["flow"].sel(station=sid).values, series.values, atol=6e-4)
    assert a["flow_symbol"].sel(station="08AA001", time="2001-01-03").item() == "B"
    assert a["flow_symbol"].sel(station="08AA001", time="2001-02-03").item() == ""
    # PARAM 2 (water level 1.234) rows were skipped
    assert not np.isclose(a["flow"].values, 1.234).any()
    assert int(b["flow"].sel(station="08BB002").isnull().sum()) == 30
    d = read_wsc_csv(str(tmp_path / "*_Daily_Flow_ts.csv"), start="2000-12-30", end="2001-01-02")
    assert d.sizes["time"] == 4 and np.isnan(d["flow"].values[:2]).all()


def test_wsc_csv_errors(tmp_path, flow_series) -> None:
    bad_date = tmp_path / "08AA001_Daily_Flow_ts.csv"
    bad_date.write_text("Date,Flow\n2001/01/01,1.0\n2001/13/45,2.0\n2001/01/03,3.0\n")
    with pytest.raises(DataError, match="unparseable date") as info:
        read_wsc_csv(bad_date)
    assert info.value.source == str(bad_date) and "2001/13/45" in info.value.found
    bad_value = tmp_path / "08BB002_Daily_Flow_ts.csv"
    bad_value.write_text("Date,Flow\n2001/01/01,1.0\n2001/01/02,abc\n")
    with pytest.raises(DataError, match="non-numeric flow value") as info:
        read_wsc_csv(bad_value)
    assert info.value.variable == "Flow" and "abc" in info.value.found
    unknown = tmp_path / "flows.csv"
    unknown.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError, match="unknown flow CSV layout"):
        read_wsc_csv(unknown)
    noname = tmp_path / "flow_for_my_river.csv"
    noname.write_text("Date,Flow\n2001/01/01,1.0\n")
    with pytest.raises(DataError, match="station id from the file name"):
        read_wsc_csv(noname)
    write_date_flow(tmp_path / "08AA001_copy_Daily_Flow_ts.csv", flow_series["08AA001"])
    write_date_flow(tmp_path / "08AA001_Daily_Flow_ts.csv", flow_series["08AA001"])
    with pytest.raises(DataError, match="more than one file"):
        read_wsc_csv(str(tmp_path / "08AA001*_Daily_Flow_ts.csv"))


def _flows(missing_by_year: dict[str, dict[int, float]], lats: list[float]) -> xr.Dataset:
    days = pd.date_range("2001-01-01", "2004-12-31", freq="D")
    frame = pd.DataFrame(1.0, index=days, columns=list(missing_by_year))
    for sid, years in missing_by_year.items():
        for year, frac in years.items():
            n = int(round(frac * 365))
            start = pd.Timestamp(year, 1, 1)
            frame.loc[start : start + pd.Timedelta(days=n - 1), sid] = np.nan
    meta = pd.DataFrame({"station_lat": lats}, index=list(missing_by_year))
    return flow_dataset(frame, meta=meta)


def test_selection_rules() -> None:
    flows = _flows(
        {
            "OK00001": {2001: 0.9},  # one bad year is allowed
            "TWO0002": {2001: 0.5, 2003: 0.5},  # two bad years
            "TOT0003": {2001: 0.9, 2002: 0.9},  # total 0.45 > 0.40
            "NTH0004": {},  # too far north
            "LEP0005": {2001: 0.4},  # exactly 0.40 is kept
        },
        [50.0, 50.0, 50.0, 56.0, 55.9],
    )
    sel = select_stations(flows)
    assert sel.kept == ["OK00001", "LEP0005"]
    assert sel.dropped["TWO0002"].startswith("2 years with missing > 0.40")
    assert sel.dropped["TOT0003"].startswith("missing 0.45 > 0.40")
    assert sel.dropped["NTH0004"] == "latitude 56.00 >= 56.00"
    assert sel.missing["OK00001"] == pytest.approx(328 / 1461)  # round(0.9 * 365) = 328 days
    loose = select_stations(flows, SelectionRules(n_worse_years=2, max_lat=None))
    assert loose.kept == ["OK00001", "TWO0002", "NTH0004", "LEP0005"]
