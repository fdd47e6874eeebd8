"""The published in/near rule (METHODS.md 5.1 Metric D): vertices within 1 deg, gauge fallback."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from hydrointerp.io.geo import in_near_mask


def test_in_near_uses_outline_vertices_and_gauge_fallback() -> None:
    lat = np.arange(60.0, 44.9, -0.5)
    lon = np.arange(-130.0, -109.9, 0.5)
    big = shapely.box(-126.0, 48.0, -114.0, 58.0)  # 4 vertices; centre far from all of them
    outlines = gpd.GeoDataFrame({"station_id": ["A"]}, geometry=[big], crs="EPSG:4326")
    mask = in_near_mask(outlines, ["A", "B"], [-120.0, -112.0], [53.0, 47.0], lat, lon, 1.0)
    assert mask.dims == ("station", "lat", "lon") and mask.dtype == bool
    glon, glat = np.meshgrid(lon, lat)
    corners = np.array([[-126, 48], [-126, 58], [-114, 58], [-114, 48]], dtype=float)
    dist = np.min(
        np.hypot(glon[..., None] - corners[:, 0], glat[..., None] - corners[:, 1]), axis=-1
    )
    np.testing.assert_array_equal(mask.sel(station="A").values, dist <= 1.0)
    # the basin centre is inside the polygon but > 1 deg from every vertex: "out" (published quirk)
    assert not bool(mask.sel(station="A", lat=53.0, lon=-120.0))
    gauge = np.hypot(glon + 112.0, glat - 47.0) <= 1.0
    np.testing.assert_array_equal(mask.sel(station="B").values, gauge)
    assert int(gauge.sum()) == 13  # 0.5-deg lattice points within radius 1 deg: 1 + 4 + 4 + 4


def test_in_near_without_outlines_is_the_gauge_rule() -> None:
    lat = np.array([50.0, 49.25, 48.5])
    lon = np.array([-120.0, -119.25, -118.5])
    mask = in_near_mask(None, ["X"], [-119.25], [49.25], lat, lon)
    expected = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(mask.values[0], expected)
