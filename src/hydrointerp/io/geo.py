"""Basin outlines, basin masks and the published in/near rule.

Outlines come from any vector file geopandas reads (GeoPackage, shapefile, GeoJSON, FileGDB),
keyed by a station-id column, and are reprojected to lon/lat (EPSG:4326).

* :func:`basin_masks` - the fraction of each grid cell's area inside each basin. Fractions are
  computed in lon/lat degrees (a 0.75 deg cell changes width by < 2 % between its edges at 56 N);
  stations without an outline fall back to the published 1 deg rule around the gauge.
* :func:`in_near_mask` - METHODS.md section 5.1 Metric D: a cell centre is "in/near" a basin when it
  lies within ``distance_deg`` (Euclidean, in degrees) of ANY vertex of the outline, or of the gauge
  when the basin has no outline. This is not a point-in-polygon test (a published quirk).

Glacier cover inside the outlines is :mod:`hydrointerp.io.glaciers`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from scipy.spatial import cKDTree

from hydrointerp.errors import DataError
from hydrointerp.io.files import existing, reading
from hydrointerp.io.grid import Grid

ID_COLUMNS: tuple[str, ...] = ("station_id", "StationNum", "Station", "STATION_NUMBER", "id")


class BasinFallbackWarning(UserWarning):
    """A station has no basin outline; the gauge point was used instead."""


def read_outlines(
    path: str | os.PathLike[str],
    id_column: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read basin outlines keyed by station id, reprojected to EPSG:4326.

    Parameters
    ----------
    path
        Any vector file geopandas reads (GeoPackage, shapefile, GeoJSON, FileGDB folder).
    id_column
        Column holding the station id; default: the first of :data:`ID_COLUMNS` present.
    layer
        Layer name for multi-layer sources (GeoPackage, FileGDB).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``station_id`` (str), one ``geometry`` column (None where the file has none).

    Raises
    ------
    DataError
        Unreadable file, no id column, no CRS, or duplicate ids.
    """
    path = Path(path)
    gdf = read_vector(path, "basin outlines", layer)
    column = id_column or next((c for c in ID_COLUMNS if c in gdf.columns), None)
    if column is None or column not in gdf.columns:
        raise DataError(
            "no station-id column in basin outlines",
            source=str(path),
            variable=id_column or "station id",
            expected=id_column or f"one of {list(ID_COLUMNS)}",
            found=[c for c in gdf.columns if c != "geometry"],
        )
    if gdf.crs is None:
        raise DataError(
            "basin outlines have no coordinate reference system",
            source=str(path),
            variable="crs",
            expected="a CRS (e.g. EPSG:4326 or ESRI:102001)",
            found="none",
        )
    gdf = gdf.to_crs("EPSG:4326")
    ids = gdf[column].astype(str).str.strip()
    if ids.duplicated().any():
        raise DataError(
            "duplicate station ids in basin outlines",
            source=str(path),
            variable=column,
            expected="one outline per station",
            found=sorted(set(ids[ids.duplicated()]))[:10],
        )
    out = gpd.GeoDataFrame({"geometry": gdf.geometry.values}, index=ids.values, crs="EPSG:4326")
    out.index.name = "station_id"
    out.attrs["source"] = str(path)
    return out


def read_vector(
    path: str | os.PathLike[str],
    what: str,
    layer: str | None = None,
    expected: str = "a GeoPackage, shapefile, GeoJSON or FileGDB",
) -> gpd.GeoDataFrame:
    """Any vector file (or FileGDB folder) geopandas reads; a DataError naming it otherwise.

    ``what`` the file holds and the format ``expected`` are named in the error.
    """
    path = existing(path, what, folder=True)
    with reading(
        path, "vector file", what=what, expected=expected, found=path.suffix or "no extension"
    ):
        return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)


def outline_index(outlines: gpd.GeoDataFrame, id_column: str | None) -> gpd.GeoDataFrame:
    """Outlines indexed by station id (str) in EPSG:4326."""
    if outlines.crs is not None and not outlines.crs.equals("EPSG:4326"):
        outlines = outlines.to_crs("EPSG:4326")
    column = id_column or next((c for c in ID_COLUMNS if c in outlines.columns), None)
    if column is not None:
        outlines = outlines.set_index(outlines[column].astype(str).str.strip())
    else:
        outlines = outlines.set_axis(outlines.index.astype(str), axis=0)
    return outlines


def geometry_of(outlines: gpd.GeoDataFrame | None, station_id: str) -> object | None:
    """The station's outline geometry, or None when absent; empty geometry is a DataError."""
    if outlines is None or station_id not in outlines.index:
        return None
    geom = outlines.geometry.loc[station_id]
    if isinstance(geom, gpd.GeoSeries):
        geom = geom.iloc[0]
    if geom is None or (isinstance(geom, float) and np.isnan(geom)):
        return None
    if geom.is_empty:
        raise DataError(
            "empty basin geometry",
            source=str(outlines.attrs.get("source", "<memory>")),
            variable=f"geometry of station {station_id}",
            expected="a polygon with area",
            found="empty geometry",
        )
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(
            "basin outline is not a polygon",
            source=str(outlines.attrs.get("source", "<memory>")),
            variable=f"geometry of station {station_id}",
            expected="Polygon or MultiPolygon",
            found=geom.geom_type,
        )
    return geom


def _exterior_vertices(geom: object) -> np.ndarray:
    """``[V, 2]`` lon/lat of the exterior-ring vertices of every polygon part."""
    parts = getattr(geom, "geoms", [geom])
    return np.concatenate([np.asarray(p.exterior.coords)[:, :2] for p in parts])


def _centres(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``[H*W, 2]`` lon/lat of the cell centres, row-major over (lat, lon)."""
    glon, glat = np.meshgrid(lon, lat)
    return np.column_stack([glon.ravel(), glat.ravel()])


def _near(points: np.ndarray, centres: np.ndarray, distance_deg: float) -> np.ndarray:
    """True for each centre within ``distance_deg`` of any point."""
    dist, _ = cKDTree(points).query(centres, k=1, distance_upper_bound=distance_deg + 1e-9)
    return np.isfinite(dist)


def in_near_mask(
    outlines: gpd.GeoDataFrame | None,
    station_ids: Sequence[str],
    station_lon: Sequence[float],
    station_lat: Sequence[float],
    lat: Sequence[float],
    lon: Sequence[float],
    distance_deg: float = 1.0,
    *,
    id_column: str | None = None,
) -> xr.DataArray:
    """The published in/near-basin mask (METHODS.md section 5.1, Metric D).

    A cell centre is "in/near" station *s* when its Euclidean distance in degrees of lon/lat to any
    vertex of the basin's exterior ring(s) is <= ``distance_deg``; when the station has no outline
    the gauge point is used instead. Cells deep inside large basins, farther than ``distance_deg``
    from every vertex, are "out" (a published quirk, kept on purpose).

    Parameters
    ----------
    outlines
        Basin outlines keyed by station id (index, or ``id_column``), or None (gauges only).
    station_ids, station_lon, station_lat
        The stations, in output order, and their gauge coordinates (deg E, deg N).
    lat, lon
        Grid cell centres.
    distance_deg
        The distance threshold in degrees.
    id_column
        Column of ``outlines`` holding the station id (default: the index or a known name).

    Returns
    -------
    xarray.DataArray
        ``in_near(station, lat, lon)`` bool.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ids = [str(s) for s in station_ids]
    table = outline_index(outlines, id_column) if outlines is not None else None
    centres = _centres(lat, lon)
    mask = np.zeros((len(ids), len(lat), len(lon)), dtype=bool)
    gauges = np.column_stack([np.asarray(station_lon, float), np.asarray(station_lat, float)])
    for i, sid in enumerate(ids):
        geom = geometry_of(table, sid)
        points = gauges[i : i + 1] if geom is None else _exterior_vertices(geom)
        mask[i] = _near(points, centres, distance_deg).reshape(len(lat), len(lon))
    return xr.DataArray(
        mask,
        dims=("station", "lat", "lon"),
        coords={"station": np.asarray(ids, dtype=object), "lat": lat, "lon": lon},
        name="in_near",
        attrs={
            "long_name": "cell centre within distance of a basin-outline vertex (or gauge)",
            "distance_deg": float(distance_deg),
        },
    )


def _cell_boxes(grid: Grid) -> np.ndarray:
    """``[H, W]`` shapely boxes of the grid cells (lon/lat)."""
    lat_e, lon_e = grid.cell_edges()
    south = np.minimum(lat_e[:-1], lat_e[1:])
    north = np.maximum(lat_e[:-1], lat_e[1:])
    west = np.minimum(lon_e[:-1], lon_e[1:])
    east = np.maximum(lon_e[:-1], lon_e[1:])
    s, w = np.meshgrid(south, west, indexing="ij")
    n, e = np.meshgrid(north, east, indexing="ij")
    return shapely.box(w, s, e, n)


def _area_fraction(geom: object, boxes: np.ndarray) -> np.ndarray:
    """Fraction of each box's area inside ``geom`` (vectorised shapely)."""
    shapely.prepare(geom)
    frac = np.zeros(boxes.shape, dtype=np.float64)
    hit = shapely.intersects(geom, boxes)
    if hit.any():
        inter = shapely.intersection(boxes[hit], geom)
        frac[hit] = shapely.area(inter) / shapely.area(boxes[hit])
    return np.clip(frac, 0.0, 1.0)


def _check_valid(geom: object, station_id: str, source: str) -> None:
    """A self-intersecting (invalid) outline has no well-defined area: refuse it."""
    if not shapely.is_valid(geom):
        raise DataError(
            "basin outline is not a valid polygon; repair it (e.g. shapely.make_valid or QGIS"
            " 'Fix geometries')",
            source=source,
            variable=f"geometry of station {station_id}",
            expected="a valid polygon (no self-intersection)",
            found=shapely.is_valid_reason(geom),
        )


def _check_overlap(
    mask: np.ndarray, grid: Grid, station_id: str, source: str, bounds: np.ndarray
) -> None:
    """A basin (or gauge neighbourhood) that covers no grid cell would have no weather."""
    if np.any(mask > 0):
        return
    lat_e, lon_e = grid.cell_edges()
    west, south, east, north = (float(b) for b in bounds)
    raise DataError(
        "basin does not overlap the grid (its basin_mask would be all zero)",
        source=source,
        variable=f"basin of station {station_id}",
        expected=f"an outline within lat [{lat_e.min():g}, {lat_e.max():g}],"
        f" lon [{lon_e.min():g}, {lon_e.max():g}]",
        found=f"lat [{south:g}, {north:g}], lon [{west:g}, {east:g}]",
    )


def basin_masks(
    outlines: gpd.GeoDataFrame | None,
    grid: Grid | None = None,
    *,
    station_ids: Sequence[str] | None = None,
    station_lon: Sequence[float] | None = None,
    station_lat: Sequence[float] | None = None,
    id_column: str | None = None,
    fallback_distance_deg: float = 1.0,
) -> xr.DataArray:
    """The fraction of each grid cell inside each basin.

    Parameters
    ----------
    outlines
        Basin outlines keyed by station id (see :func:`read_outlines`), or None.
    grid
        The study grid (default :meth:`Grid.study`).
    station_ids
        Stations in output order (default: every outline). Stations without an outline need
        ``station_lon``/``station_lat``: they fall back to the published rule (cells whose centre
        lies within ``fallback_distance_deg`` of the gauge get 1) with a
        :class:`BasinFallbackWarning`.

    Returns
    -------
    xarray.DataArray
        ``basin_mask(station, lat, lon)`` float32 in [0, 1]; attribute ``fallback`` lists the
        stations that used the gauge rule.

    Raises
    ------
    DataError
        Empty, non-polygon or self-intersecting geometry; no outline and no gauge coordinates;
        a basin that covers no grid cell.
    """
    grid = grid or Grid.study()
    table = outline_index(outlines, id_column) if outlines is not None else None
    if station_ids is None:
        if table is None:
            raise DataError("basin_masks needs outlines or station ids", variable="station_ids")
        station_ids = list(table.index)
    ids = [str(s) for s in station_ids]
    boxes = _cell_boxes(grid)
    centres = _centres(grid.lats, grid.lons)
    mask = np.zeros((len(ids), *grid.shape), dtype=np.float32)
    fallback: list[str] = []
    source = str(outlines.attrs.get("source", "<memory>")) if outlines is not None else "<memory>"
    for i, sid in enumerate(ids):
        geom = geometry_of(table, sid)
        if geom is not None:
            _check_valid(geom, sid, source)
            mask[i] = _area_fraction(geom, boxes)
            _check_overlap(mask[i], grid, sid, source, shapely.bounds(geom))
            continue
        gauge = _gauge_point(sid, i, station_lon, station_lat)
        mask[i] = _near(gauge, centres, fallback_distance_deg).reshape(grid.shape)
        _check_overlap(mask[i], grid, sid, "station coordinates", np.tile(gauge[0], 2))
        fallback.append(sid)
    if fallback:
        warnings.warn(
            f"{len(fallback)} station(s) have no basin outline; using cells within "
            f"{fallback_distance_deg} deg of the gauge: {', '.join(fallback[:10])}"
            + (" ..." if len(fallback) > 10 else ""),
            BasinFallbackWarning,
            stacklevel=2,
        )
    return xr.DataArray(
        mask,
        dims=("station", "lat", "lon"),
        coords={"station": np.asarray(ids, dtype=object), "lat": grid.lats, "lon": grid.lons},
        name="basin_mask",
        attrs={
            "long_name": "fraction of grid cell inside basin",
            "units": "1",
            "fallback": ",".join(fallback),
        },
    )


def _gauge_point(
    sid: str, i: int, station_lon: Sequence[float] | None, station_lat: Sequence[float] | None
) -> np.ndarray:
    if station_lon is None or station_lat is None or not np.isfinite(station_lon[i]):
        raise DataError(
            "station has no basin outline and no gauge coordinates",
            variable=f"station {sid}",
            expected="an outline or station_lon/station_lat",
            found="neither",
        )
    return np.array([[float(station_lon[i]), float(station_lat[i])]])
