"""The twin's gauges and basins: the 226 published stations on the published 12 x 32 grid.

Every station keeps its real location, glacier fraction (RGI 6.0), drainage area, mean elevation
and snow/ice and forest fractions (HYSETS; WSC drainage area where HYSETS has none). Basins with
an outline in ``basins/stationBasins_partial_226.geojson`` (118) are rasterised to cell fractions
by :func:`hydrointerp.io.geo.basin_masks`; the others get a synthetic basin of the real area grown
upstream (uphill on a surrogate elevation) from the gauge cell. Synthetic basins stay inside the
smallest outlined basin that contains their gauge and contain every smaller basin whose gauge
cell they reach, so nested basins stay nested. See ``docs/virtual_region.md`` (twin).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.io.geo import read_outlines

#: HYSETS columns of ``station_attributes_226.csv`` kept per station (name in the twin, column).
ATTRIBUTE_COLUMNS = {
    "elevation_m": "hysets_mean_elev_m",
    "snow_ice_fraction": "hysets_snow_ice_frac",
    "forest_fraction": "hysets_forest_frac",
}
_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


@dataclass(frozen=True)
class TwinStations:
    """The twin's gauges, their attributes and basins (``mask[station, lat, lon]`` fractions)."""

    attributes: pd.DataFrame  # index station id: name, lat, lon, area_km2, glacier_fraction, ...
    mask: np.ndarray  # [station, lat, lon] float32 in [0, 1]
    outlined: np.ndarray  # bool per station: mask from a real outline
    nested_in: dict[str, list[str]]  # station -> the larger basins it lies in


def _read_table(path: Path, **kwargs: object) -> pd.DataFrame:
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read CSV ({exc})", source=str(path)) from exc


def _wsc_areas(era: Path) -> pd.Series:
    """WSC drainage areas (km2) of the candidate lists ``{AB,BC}ActNatFlowAll.csv``."""
    parts = []
    for prov in ("AB", "BC"):
        path = era / "stations" / f"{prov}ActNatFlowAll.csv"
        table = _read_table(path, skiprows=[1], skipinitialspace=True, encoding="latin1")
        parts.append(pd.to_numeric(table.set_index("Station")["DrainageArea"], errors="coerce"))
    return pd.concat(parts)


def station_attributes(region: xr.Dataset, shared_data: Path) -> pd.DataFrame:
    """Real attributes of the mini region's stations, in its order.

    Missing HYSETS areas come from the WSC candidate lists; missing elevation, snow/ice and
    forest fractions are the mean of the three nearest stations that have them.
    """
    ids = [str(s) for s in region["station"].values]
    path = shared_data / "station_attributes" / "station_attributes_226.csv"
    table = _read_table(path, dtype={"id": str}).set_index("id")
    if table.index.tolist() != ids:
        raise DataError(
            "station attribute table differs from station_table.csv order",
            source=str(path),
            variable="id",
            expected=ids[:3],
            found=table.index.tolist()[:3],
        )
    out = pd.DataFrame(
        {
            "name": [str(n) for n in region["name"].values],
            "lat": region["station_lat"].values,
            "lon": region["station_lon"].values,
            "glacier_fraction": region["glacier_fraction"].values,
            "area_km2": table["hysets_area_km2"].to_numpy(np.float64),
        },
        index=pd.Index(ids, name="station"),
    )
    missing = out["area_km2"].isna()
    if missing.any():
        wsc = _wsc_areas(shared_data / "cnn_lstm_era")
        out.loc[missing, "area_km2"] = wsc.reindex(out.index[missing]).to_numpy()
    if out["area_km2"].isna().any():
        raise DataError(
            "no drainage area in HYSETS or the WSC lists",
            source=str(path),
            variable="hysets_area_km2",
            found=out.index[out["area_km2"].isna()].tolist(),
        )
    xy = np.c_[out["lat"].to_numpy(), out["lon"].to_numpy()]
    for name, column in ATTRIBUTE_COLUMNS.items():
        values = table[column].to_numpy(np.float64).copy()
        have = np.isfinite(values)
        for i in np.flatnonzero(~have):
            d = np.hypot(*(xy[have] - xy[i]).T)
            values[i] = values[have][np.argsort(d)[:3]].mean()
        out[name] = values
    return out


def _outline_geometries(shared_data: Path) -> pd.Series:
    outlines = read_outlines(shared_data / "basins" / "stationBasins_partial_226.geojson")
    return outlines.geometry


def _cell_of(lat: np.ndarray, lon: np.ndarray, lat_c: float, lon_c: float) -> tuple[int, int]:
    return int(np.argmin(np.abs(lat - lat_c))), int(np.argmin(np.abs(lon - lon_c)))


def grow_basin(
    gauge: tuple[int, int],
    area_km2: float,
    cell_area: np.ndarray,
    uphill: np.ndarray,
    container: np.ndarray,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A synthetic basin of ``area_km2`` grown from the ``gauge`` cell.

    Cells are added whole (up to ``container``'s fraction), always the highest ``uphill`` cell
    next to the basin, until the area is reached; the last cell is partial. Returns the mask
    and the cells in the order they were added.
    """
    mask = np.zeros(cell_area.shape, dtype=np.float64)
    order: list[tuple[int, int]] = []
    left = float(area_km2)
    frontier = {gauge}
    while left > 1e-9 and frontier:
        i, j = max(frontier, key=lambda c: (uphill[c], -c[0], -c[1]))
        frontier.discard((i, j))
        room = float(container[i, j] - mask[i, j])
        if room <= 0:
            continue
        add = min(room, left / cell_area[i, j])
        mask[i, j] += add
        left -= add * cell_area[i, j]
        order.append((i, j))
        for di, dj in _NEIGHBOURS:
            a, b = i + di, j + dj
            if 0 <= a < mask.shape[0] and 0 <= b < mask.shape[1] and mask[a, b] < container[a, b]:
                frontier.add((a, b))
    return mask, order


def build_stations(
    region: xr.Dataset, shared_data: Path, cell_area: np.ndarray, uphill: np.ndarray
) -> TwinStations:
    """The twin's 226 stations and basins on the grid of the mini ``region``.

    Parameters
    ----------
    region
        The published mini year (:func:`~hydrointerp.data.mini.read_mini`, with basin masks).
    shared_data
        ``shared/data`` (attribute tables and basin outlines).
    cell_area
        ``[lat, lon]`` cell areas in km2.
    uphill
        ``[lat, lon]`` surrogate elevation: synthetic basins grow towards higher values.
    """
    attrs = station_attributes(region, shared_data)
    ids = attrs.index.tolist()
    lat, lon = region["lat"].values, region["lon"].values
    mask = region["basin_mask"].values.astype(np.float64).copy()
    outlined = mask.sum(axis=(1, 2)) > 0
    geoms = _outline_geometries(shared_data)
    points = shapely.points(attrs["lon"].to_numpy(), attrs["lat"].to_numpy())
    area = attrs["area_km2"].to_numpy()
    nested: dict[str, list[str]] = {s: [] for s in ids}
    for s in np.flatnonzero(outlined):
        geom = geoms.get(ids[s])
        inside = shapely.contains(geom, points) & (area < area[s])
        for t in np.flatnonzero(inside):
            nested[ids[t]].append(ids[s])
    gauge = [_cell_of(lat, lon, a, b) for a, b in zip(attrs["lat"], attrs["lon"], strict=True)]
    for s in sorted(np.flatnonzero(~outlined), key=lambda k: area[k]):
        holders = [ids.index(h) for h in nested[ids[s]] if outlined[ids.index(h)]]
        container = np.ones_like(cell_area)
        if holders:
            container = mask[min(holders, key=lambda k: area[k])]
        grown, order = grow_basin(gauge[s], area[s], cell_area, uphill, container)
        reached = set(order)
        for t in range(len(ids)):
            if t != s and area[t] < area[s] and gauge[t] in reached and mask[t].sum() > 0:
                joined = np.minimum(np.maximum(grown, mask[t]), container)
                if np.all(joined >= mask[t] - 1e-6):
                    grown = joined
                    nested[ids[t]].append(ids[s])
        mask[s] = grown
    return TwinStations(
        attributes=attrs, mask=mask.astype(np.float32), outlined=outlined, nested_in=nested
    )
