"""Basin outlines (GeoPackage, shapefile), basin masks, the gauge fallback, RGI glacier cover."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from io_rawfiles import basins_frame

from hydrointerp.data.region import glacier_classes
from hydrointerp.errors import DataError
from hydrointerp.io import Grid, basin_masks, glacier_cell_area, glacier_fraction, read_outlines
from hydrointerp.io.geo import BasinFallbackWarning
from hydrointerp.io.glaciers import read_glacier_fraction_table, read_glaciers

GRID = Grid(north=51.0, south=49.5, west=-121.5, east=-118.5, resolution=0.75)  # 3 x 5


def test_geopackage_masks_are_exact_area_fractions(tmp_path) -> None:
    # A: exactly the cell centred (50.25, -120.0); B: half of the cell (51.0, -119.25) plus all of
    # the cell (51.0, -118.5)
    frame = basins_frame(
        ["08AA001", "08BB002"],
        [(-120.375, 49.875, -119.625, 50.625), (-119.25, 50.625, -118.125, 51.375)],
    )
    path = tmp_path / "basins.gpkg"
    frame.to_file(path, layer="basins", driver="GPKG")
    outlines = read_outlines(path, id_column="StationNum", layer="basins")
    assert list(outlines.index) == ["08AA001", "08BB002"]
    mask = basin_masks(outlines, GRID)
    assert mask.dims == ("station", "lat", "lon") and mask.dtype == np.float32
    a = np.zeros((3, 5))
    a[1, 2] = 1.0
    b = np.zeros((3, 5))
    b[0, 3], b[0, 4] = 0.5, 1.0
    np.testing.assert_allclose(mask.sel(station="08AA001").values, a, atol=1e-6)
    np.testing.assert_allclose(mask.sel(station="08BB002").values, b, atol=1e-6)


def test_shapefile_in_albers_is_reprojected(tmp_path) -> None:
    box = (-121.0, 49.6, -119.2, 50.8)
    frame = basins_frame(["08AA001"], [box]).to_crs("EPSG:3005")  # BC Albers, metres
    frame.to_file(tmp_path / "basins.shp")
    outlines = read_outlines(tmp_path / "basins.shp")  # id column found by name (StationNum)
    assert outlines.crs.to_epsg() == 4326
    west, south, east, north = outlines.geometry.iloc[0].bounds
    assert (west, south) == pytest.approx((-121.0, 49.6), abs=0.02)
    mask = basin_masks(outlines, GRID).values[0]
    # box area in cell units: (1.8 / 0.75) * (1.2 / 0.75) = 3.84 cells
    assert mask.sum() == pytest.approx(3.84, rel=0.02)


def test_gauge_fallback_and_geometry_errors(tmp_path) -> None:
    frame = basins_frame(["08AA001"], [(-120.375, 49.875, -119.625, 50.625)])
    with pytest.warns(BasinFallbackWarning, match="08ZZ009"):
        mask = basin_masks(
            frame,
            GRID,
            station_ids=["08AA001", "08ZZ009"],
            station_lon=[-120.0, -119.25],
            station_lat=[50.25, 50.25],
        )
    expected = np.zeros((3, 5))
    expected[1, 2:5] = 1  # cells within 1 deg of the gauge (0.75 deg apart: 3 in the row) ...
    expected[0, 3] = expected[2, 3] = 1  # ... and the ones above and below it
    np.testing.assert_array_equal(mask.sel(station="08ZZ009").values, expected)
    assert mask.attrs["fallback"] == "08ZZ009"
    empty = gpd.GeoDataFrame(
        {"StationNum": ["08AA001"]}, geometry=[shapely.Polygon()], crs="EPSG:4326"
    )
    with pytest.raises(DataError, match="empty basin geometry") as info:
        basin_masks(empty, GRID)
    assert info.value.variable == "geometry of station 08AA001"
    line = gpd.GeoDataFrame(
        {"StationNum": ["08AA001"]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])],
        crs="EPSG:4326",
    )
    with pytest.raises(DataError, match="not a polygon"):
        basin_masks(line, GRID)
    with pytest.raises(DataError, match="no gauge coordinates"):
        basin_masks(None, GRID, station_ids=["08ZZ009"])


def test_outline_file_errors(tmp_path) -> None:
    corrupt = tmp_path / "basins.gpkg"
    corrupt.write_bytes(b"not a geopackage" * 20)
    with pytest.raises(DataError, match="cannot read vector file") as info:
        read_outlines(corrupt)
    assert info.value.source == str(corrupt)
    frame = basins_frame(["08AA001"], [(-120, 49, -119, 50)]).rename(columns={"StationNum": "x"})
    frame.to_file(tmp_path / "noid.geojson", driver="GeoJSON")
    with pytest.raises(DataError, match="no station-id column") as info:
        read_outlines(tmp_path / "noid.geojson")
    assert "x" in info.value.found


def _rgi(version: int) -> gpd.GeoDataFrame:
    cen = [(-120.0, 50.25), (-119.9, 50.3), (-118.5, 51.0), (-130.0, 55.0)]
    area = [2.0, 3.0, 7.0, 100.0]
    geoms = [shapely.Point(x, y).buffer(0.01) for x, y in cen]
    if version == 6:
        cols = {
            "RGIId": [f"RGI60-02.{i:05d}" for i in range(4)],
            "CenLon": [c[0] for c in cen],
            "CenLat": [c[1] for c in cen],
            "Area": area,
        }
    else:
        cols = {
            "rgi_id": [f"RGI2000-v7.0-G-02-{i:05d}" for i in range(4)],
            "cenlon": [c[0] for c in cen],
            "cenlat": [c[1] for c in cen],
            "area_km2": area,
        }
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")


@pytest.mark.parametrize("version", [6, 7])
def test_glacier_fraction_and_cell_area_from_rgi(tmp_path, version) -> None:
    path = tmp_path / f"rgi{version}.shp"
    _rgi(version).to_file(path)
    glaciers = read_glaciers(path)
    outlines = basins_frame(
        ["08AA001", "08BB002"],
        [(-120.375, 49.875, -119.625, 50.625), (-119.25, 50.625, -118.125, 51.375)],
    )
    areas = pd.Series({"08AA001": 50.0, "08BB002": 700.0, "08CC003": 10.0})
    g = glacier_fraction(glaciers, outlines, areas)
    assert list(g["station"].values) == ["08AA001", "08BB002", "08CC003"]
    np.testing.assert_allclose(g.values, [5.0 / 50.0, 7.0 / 700.0, 0.0])  # no outline: G = 0
    cells = glacier_cell_area(glaciers, GRID)
    assert float(cells.sel(lat=50.25, lon=-120.0)) == pytest.approx(5.0)
    assert float(cells.sel(lat=51.0, lon=-118.5)) == pytest.approx(7.0)
    assert float(cells.sum()) == pytest.approx(12.0)  # the glacier outside the grid is not counted


def test_glacier_inputs_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="lacks centroid/area columns") as info:
        glacier_fraction(pd.DataFrame({"x": [1.0]}), None, {"08AA001": 1.0})
    assert "CenLon" in info.value.expected
    table = tmp_path / "glacier.csv"
    table.write_text("id,glacier_fraction\n08AA001,0.2\n08BB002,1.5\n")
    with pytest.raises(DataError, match="out of \\[0, 1\\]"):
        read_glacier_fraction_table(table)
    table.write_text("id,glacier_fraction\n08AA001,0.2\n08BB002,0.0\n")
    assert read_glacier_fraction_table(table).to_dict() == {"08AA001": 0.2, "08BB002": 0.0}


def test_published_glacier_table(shared_data) -> None:
    values = read_glacier_fraction_table(
        shared_data / "station_attributes" / "station_glacier_226.csv"
    )
    assert len(values) == 226
    assert values["08ME023"] == pytest.approx(0.5913, abs=1e-4)
    assert glacier_classes(values.to_numpy()) == {  # METHODS.md 1.5
        "G = 0": 139,
        "0 < G <= 1 %": 42,
        "1 % < G <= 10 %": 38,
        "G > 10 %": 7,
    }
