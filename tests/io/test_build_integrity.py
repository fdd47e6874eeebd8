"""Raw inputs that used to give a traceback or a silent all-zero basin: one clear line instead."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from io_rawfiles import basins_frame, era5_dataset, smooth_weather, write_build_inputs

from hydrointerp.errors import DataError
from hydrointerp.io import Grid, basin_masks

pytestmark = pytest.mark.filterwarnings("ignore::hydrointerp.io.era5_days.IncompleteDayWarning")

LAT = np.array([49.5, 50.25, 51.0, 51.75])
LON360 = np.array([238.5, 239.25, 240.0, 240.75, 241.5])
GRID = Grid(north=51.0, south=49.5, west=-121.5, east=-119.25, resolution=0.75)
BOWTIE = shapely.Polygon([(-120.4, 49.9), (-119.6, 50.6), (-119.6, 49.9), (-120.4, 50.6)])


def _era5() -> object:
    times = pd.date_range("2001-01-01 01:00", periods=24 * 100, freq="h")
    t2m, tp = smooth_weather(times, LAT, LON360, 6)
    return era5_dataset(times, LAT, LON360, t2m, tp)


def _line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _no_output(tmp_path) -> None:
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_self_intersecting_basin(tmp_path, flow_series, run_main) -> None:
    basins = gpd.GeoDataFrame({"StationNum": ["08AA001"]}, geometry=[BOWTIE], crs="EPSG:4326")
    config = write_build_inputs(tmp_path, _era5(), flow_series["08AA001"], basins=basins)
    code, err = run_main(["build-region", config])
    assert code == 2
    line = _line(err)
    assert line.startswith("error: basin outline is not a valid polygon; repair it")
    assert f"file: {tmp_path / 'basins.gpkg'}; variable: geometry of station 08AA001" in line
    assert "expected: a valid polygon (no self-intersection); found: Self-intersection[" in line
    _no_output(tmp_path)


def test_basin_outside_the_grid(tmp_path, flow_series, run_main) -> None:
    far = basins_frame(["08AA001"], [(-100.5, 60.0, -100.0, 60.5)])
    config = write_build_inputs(tmp_path, _era5(), flow_series["08AA001"], basins=far)
    code, err = run_main(["build-region", config])
    assert code == 2
    assert _line(err) == (
        "error: basin does not overlap the grid (its basin_mask would be all zero);"
        f" file: {tmp_path / 'basins.gpkg'}; variable: basin of station 08AA001; expected: an"
        " outline within lat [49.125, 51.375], lon [-121.875, -118.875]; found: lat [60, 60.5],"
        " lon [-100.5, -100]"
    )
    _no_output(tmp_path)


def test_basin_masks_refuse_outside_and_invalid_directly() -> None:
    outlines = gpd.GeoDataFrame(
        {"StationNum": ["A", "B"]},
        geometry=[shapely.box(-120.4, 49.9, -119.6, 50.6), BOWTIE],
        crs="EPSG:4326",
    )
    good = basin_masks(outlines.iloc[:1], GRID, id_column="StationNum")
    assert float(good.sum()) == pytest.approx(0.8 * 0.7 / 0.75**2, rel=1e-6)
    with pytest.raises(DataError, match="not a valid polygon") as info:
        basin_masks(outlines, GRID, id_column="StationNum")
    assert info.value.variable == "geometry of station B"
    with pytest.raises(DataError, match="does not overlap the grid") as info:
        basin_masks(None, GRID, station_ids=["C"], station_lon=[-90.0], station_lat=[40.0])
    assert info.value.found == "lat [40, 40], lon [-90, -90]"


def test_wsc_row_with_extra_cells(tmp_path, flow_series, run_main) -> None:
    days = pd.date_range("2001-01-01", "2001-04-09")
    rows = [" ID,PARAM,Date,Value,SYM"]
    rows += [f"08AA001,1,{d:%Y/%m/%d},{1.5 + i / 10:.3f}," for i, d in enumerate(days)]
    rows[40] += ",stray"  # line 41 of the file: one cell too many
    config = write_build_inputs(
        tmp_path, _era5(), flow_series["08AA001"], wsc_csv="\n".join(rows) + "\n"
    )
    code, err = run_main(["build-region", config])
    assert code == 2
    assert _line(err) == (
        "error: a row has more cells than the header;"
        f" file: {tmp_path / 'flow.csv'}; variable: columns; expected: 5 cells per row (the"
        " header's); found: line 41: 6 cells"
    )
    _no_output(tmp_path)


def test_errors_from_memory_get_the_file_name() -> None:
    bare = DataError("bad", source="<memory>", variable="v", expected=1, found=2)
    named = bare.with_source("era5/a.nc")
    assert str(named) == "bad; file: era5/a.nc; variable: v; expected: 1; found: 2"
    kept = DataError("bad", source="region.nc").with_source("era5/a.nc")
    assert kept.source == "region.nc"
