"""Glacier cover from RGI 6.0 / 7.0 outlines or a per-station table (METHODS.md section 1.5).

* :func:`read_glaciers` - an RGI file (or a CSV of its attribute table) -> glacier centroids and
  areas;
* :func:`glacier_fraction` - the area of glaciers whose centroid lies in the basin over the
  drainage area (0 without an outline);
* :func:`read_glacier_fraction_table` - fractions given per station in a CSV table;
* :func:`glacier_cell_area` - glacier area per grid cell by centroid.

The published glacier classes are :data:`hydrointerp.data.region.GLACIER_CLASSES`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.io.files import existing, reading
from hydrointerp.io.geo import geometry_of, outline_index, read_vector
from hydrointerp.io.grid import Grid

RGI_COLUMNS: dict[str, tuple[str, str, str]] = {
    "RGI 6.0": ("CenLon", "CenLat", "Area"),
    "RGI 7.0": ("cenlon", "cenlat", "area_km2"),
}


def read_glaciers(path: str | os.PathLike[str], layer: str | None = None) -> pd.DataFrame:
    """Read an RGI 6.0 or 7.0 outline file (or a CSV of its attribute table).

    Returns
    -------
    pandas.DataFrame
        Columns ``lon``, ``lat`` (glacier centroid, deg) and ``area_km2``.

    Raises
    ------
    DataError
        Unreadable file or neither RGI column set present.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with reading(existing(path, "glaciers"), "CSV", what="glaciers", expected="an RGI table"):
            table = pd.read_csv(path)
    else:
        table = read_vector(path, "glaciers", layer, "an RGI shapefile/GeoPackage or CSV table")
    return _rgi_table(table, str(path))


def _rgi_table(table: pd.DataFrame, source: str = "<memory>") -> pd.DataFrame:
    """Normalise RGI 6.0 / 7.0 column names to ``lon, lat, area_km2``."""
    if {"lon", "lat", "area_km2"} <= set(table.columns):
        return pd.DataFrame(table[["lon", "lat", "area_km2"]]).astype(float)
    for cols in RGI_COLUMNS.values():
        if set(cols) <= set(table.columns):
            out = pd.DataFrame(
                table[list(cols)].to_numpy(dtype=float), columns=["lon", "lat", "area_km2"]
            )
            return out
    raise DataError(
        "glacier table lacks centroid/area columns",
        source=source,
        variable="glaciers",
        expected=" or ".join(f"{k}: {'/'.join(v)}" for k, v in RGI_COLUMNS.items()),
        found=[c for c in table.columns if c != "geometry"][:20],
    )


def glacier_fraction(
    glaciers: pd.DataFrame,
    outlines: gpd.GeoDataFrame | None,
    drainage_area: Mapping[str, float] | pd.Series,
    *,
    id_column: str | None = None,
) -> xr.DataArray:
    """Glacier fraction per basin (METHODS.md section 1.5).

    ``G = sum(area of glaciers whose centroid lies inside the basin) / drainage area``; ``G = 0``
    for a station without an outline.

    Parameters
    ----------
    glaciers
        RGI 6.0 (``CenLon, CenLat, Area``) or 7.0 (``cenlon, cenlat, area_km2``) attributes, or the
        output of :func:`read_glaciers`.
    outlines
        Basin outlines keyed by station id.
    drainage_area
        Drainage area in km2 per station id (e.g. HYDAT ``DRAINAGE_AREA_GROSS``); its keys set the
        stations and their order.

    Returns
    -------
    xarray.DataArray
        ``glacier_fraction(station)`` in 0..1 (may exceed 1 only if the areas disagree).
    """
    table = _rgi_table(glaciers)
    areas = pd.Series(drainage_area, dtype=float)
    basins = outline_index(outlines, id_column) if outlines is not None else None
    values = np.zeros(len(areas))
    for i, (sid, area) in enumerate(areas.items()):
        geom = geometry_of(basins, str(sid))
        if geom is None:
            continue
        if not np.isfinite(area) or area <= 0:
            raise DataError(
                "drainage area must be positive to compute a glacier fraction",
                variable=f"drainage_area[{sid}]",
                expected="> 0 km2",
                found=area,
            )
        inside = shapely.contains_xy(geom, table["lon"].to_numpy(), table["lat"].to_numpy())
        values[i] = table["area_km2"].to_numpy()[inside].sum() / area
    return xr.DataArray(
        values,
        dims=("station",),
        coords={"station": np.asarray([str(s) for s in areas.index], dtype=object)},
        name="glacier_fraction",
        attrs={"units": "1", "long_name": "glacier area (RGI, by centroid) / drainage area"},
    )


def read_glacier_fraction_table(
    path: str | os.PathLike[str], id_column: str = "id", value_column: str = "glacier_fraction"
) -> pd.Series:
    """Glacier fraction per station from a CSV table (e.g. ``station_glacier_226.csv``)."""
    path = Path(path)
    with reading(path, "CSV"):
        table = pd.read_csv(path, dtype={id_column: str})
    for col in (id_column, value_column):
        if col not in table.columns:
            raise DataError(
                "missing column in glacier table",
                source=str(path),
                variable=col,
                expected=col,
                found=list(table.columns),
            )
    values = table.set_index(table[id_column].str.strip())[value_column].astype(float)
    if ((values < 0) | (values > 1)).any():
        raise DataError(
            "glacier fraction out of [0, 1]",
            source=str(path),
            variable=value_column,
            expected="[0, 1]",
            found=f"[{values.min()}, {values.max()}]",
        )
    return values


def glacier_cell_area(glaciers: pd.DataFrame, grid: Grid | None = None) -> xr.DataArray:
    """Glacier area per grid cell (km2), each glacier counted in the cell holding its centroid."""
    grid = grid or Grid.study()
    table = _rgi_table(glaciers)
    lat_e, lon_e = grid.cell_edges()
    lat_asc = np.sort(lat_e)
    lon_asc = np.sort(lon_e)
    area, _, _ = np.histogram2d(
        table["lat"].to_numpy(),
        table["lon"].to_numpy(),
        bins=[lat_asc, lon_asc],
        weights=table["area_km2"].to_numpy(),
    )
    return xr.DataArray(
        area[::-1],
        dims=("lat", "lon"),
        coords={"lat": grid.lats, "lon": grid.lons},
        name="glacier_area",
        attrs={"units": "km2", "long_name": "glacier area by centroid cell (RGI)"},
    )
