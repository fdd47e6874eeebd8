"""Daily weather onto the study grid (or a user :class:`~hydrointerp.io.grid.Grid`).

* Target centres that are all source centres: nearest-neighbour selection (a crop);
* a target coarser than the source (step > 1.5x): "conservative" - each target cell is the mean
  of the source cells weighted by the share of the target cell each one covers (separately in
  lat and lon, in degrees; cells are not weighted by cos(lat));
* otherwise: bilinear interpolation (``xarray.DataArray.interp``).

:func:`crop` first keeps the source cells near the target's extent, so that days can be
aggregated on the (cropped) source grid before regridding: Tmax is then the regridded daily
maximum, not the maximum of regridded hours.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.io.grid import Grid


def _axis_step(values: np.ndarray) -> float:
    return float(np.median(np.abs(np.diff(values)))) if len(values) > 1 else np.inf


def crop(ds: xr.Dataset, grid: Grid, sources: str) -> xr.Dataset:
    """Keep the source cells within one source step of the target extent; check coverage.

    Raises
    ------
    DataError
        The source cells do not reach every target centre (naming ``sources``).
    """
    lat_e, lon_e = grid.cell_edges()
    src_lat, src_lon = ds["lat"].values, ds["lon"].values
    for axis, src, tgt in (("lat", src_lat, grid.lats), ("lon", src_lon, grid.lons)):
        tol = 1e-6
        if tgt.min() < src.min() - tol or tgt.max() > src.max() + tol:
            raise DataError(
                "ERA5 files do not cover the target grid",
                source=sources,
                variable=axis,
                expected=f"[{tgt.min()}, {tgt.max()}]",
                found=f"[{src.min()}, {src.max()}]",
            )
    d_lat, d_lon = _axis_step(src_lat), _axis_step(src_lon)
    keep_lat = (src_lat >= lat_e.min() - d_lat) & (src_lat <= lat_e.max() + d_lat)
    keep_lon = (src_lon >= lon_e.min() - d_lon) & (src_lon <= lon_e.max() + d_lon)
    return ds.isel(lat=np.flatnonzero(keep_lat), lon=np.flatnonzero(keep_lon))


def _target_step(values: np.ndarray, resolution: float | None) -> float:
    """The target grid's step; a one-cell axis without a resolution counts as fine (0)."""
    if len(values) > 1:
        return _axis_step(values)
    return resolution or 0.0


def _overlap_weights(src: np.ndarray, edges: np.ndarray, tgt: np.ndarray, dim: str) -> xr.DataArray:
    """``[target, source]`` weights: the share of each target cell covered by each source cell.

    Source cells span half a source step either side of their centre; the weights of a target
    row sum to 1 (a 1-D conservative remap along ``dim``). A target cell at the edge of the data
    averages the part that is covered, which must be at least half of it.
    """
    half = _axis_step(src) / 2
    lo_t = np.minimum(edges[:-1], edges[1:])[:, None]
    hi_t = np.maximum(edges[:-1], edges[1:])[:, None]
    overlap = np.clip(
        np.minimum(hi_t, src[None, :] + half) - np.maximum(lo_t, src[None, :] - half), 0, None
    )
    covered = overlap.sum(axis=1, keepdims=True)
    if np.any(covered < 0.5 * (hi_t - lo_t)):
        short = tgt[(covered < 0.5 * (hi_t - lo_t))[:, 0]]
        raise DataError(
            "ERA5 cells do not cover every target cell",
            variable=dim,
            expected="source cells covering each target cell",
            found=f"uncovered target cells at {short[:5].tolist()}",
        )
    return xr.DataArray(
        overlap / covered, dims=(f"{dim}_target", dim), coords={f"{dim}_target": tgt, dim: src}
    )


def regrid(weather: xr.DataArray, grid: Grid) -> tuple[xr.DataArray, str]:
    """Regrid daily weather to ``grid``; returns the result and the method used."""
    src_lat, src_lon = weather["lat"].values, weather["lon"].values
    tgt_lat, tgt_lon = grid.lats, grid.lons
    coarser = all(
        _target_step(tgt, grid.resolution) > 1.5 * _axis_step(src)
        for tgt, src in ((tgt_lat, src_lat), (tgt_lon, src_lon))
    )
    if coarser:
        lat_e, lon_e = grid.cell_edges()
        w_lat = _overlap_weights(src_lat, lat_e, tgt_lat, "lat")
        w_lon = _overlap_weights(src_lon, lon_e, tgt_lon, "lon")
        out = xr.dot(w_lat, weather, dim="lat")
        out = xr.dot(w_lon, out, dim="lon")
        out = out.rename(lat_target="lat", lon_target="lon")
        return out.transpose("time", "lat", "lon", "channel").astype(np.float32), "conservative"
    matches = all(
        np.abs(src[:, None] - tgt[None, :]).min(axis=0).max() < 1e-6
        for src, tgt in ((src_lat, tgt_lat), (src_lon, tgt_lon))
    )
    if matches:
        return weather.sel(lat=tgt_lat, lon=tgt_lon, method="nearest").assign_coords(
            lat=tgt_lat, lon=tgt_lon
        ), "nearest"
    out = weather.interp(lat=tgt_lat, lon=tgt_lon, method="linear")
    return out.astype(np.float32), "bilinear"
