"""Spatial metrics of sensitivity maps: half-max area (A), in/near-vs-far KS statistic (D).

METHODS.md section 5.1. The in/near rule is the published one: a pixel centre is in/near a
station when it lies within ``distance_deg`` (Euclidean, in degrees) of any vertex of the basin
outline, or of the gauge when the basin has no outline (quirk 9.3: not a containment test).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.stats import ks_2samp

from hydrointerp.errors import DataError


def in_near_vertices(
    outlines: Sequence[np.ndarray | None],
    station_ids: Sequence[str],
    station_lon: Sequence[float],
    station_lat: Sequence[float],
    lat: Sequence[float],
    lon: Sequence[float],
    distance_deg: float = 1.0,
) -> xr.DataArray:
    """The published in/near mask, ``in_near(station, lat, lon)`` (bool).

    Parameters
    ----------
    outlines
        Per station an ``[N, 2]`` array of (lon, lat) outline vertices, or None.
    station_lon, station_lat
        Gauge positions (degrees east / north), used where the outline is None.
    lat, lon
        Pixel centres of the grid.
    distance_deg
        Largest distance (degrees) of a pixel centre to a vertex.
    """
    glon, glat = np.meshgrid(np.asarray(lon, float), np.asarray(lat, float))
    centres = np.stack([glon.ravel(), glat.ravel()], axis=1)
    masks = []
    for outline, slon, slat in zip(outlines, station_lon, station_lat, strict=True):
        pts = np.asarray([[slon, slat]], float) if outline is None else np.asarray(outline, float)
        near = np.zeros(len(centres), dtype=bool)
        for chunk in np.array_split(pts, max(1, len(pts) // 2000 + 1)):
            d2 = ((centres[:, None, :] - chunk[None, :, :]) ** 2).sum(-1)
            near |= (d2 <= distance_deg**2).any(axis=1)
        masks.append(near.reshape(glat.shape))
    return xr.DataArray(
        np.stack(masks),
        dims=("station", "lat", "lon"),
        coords={"station": list(station_ids), "lat": np.asarray(lat), "lon": np.asarray(lon)},
        name="in_near",
        attrs={
            "long_name": "pixel within distance of basin outline vertex or gauge",
            "distance_deg": distance_deg,
        },
    )


def zscore_map(maps: xr.DataArray) -> xr.DataArray:
    """Z-score each map over its pixels (``lat``, ``lon``); constant maps become 0."""
    mean = maps.mean(("lat", "lon"))
    std = maps.std(("lat", "lon"))
    out = (maps - mean) / std.where(std > 0)
    return out.fillna(0.0).where(maps.notnull())


def halfmax_area(maps: xr.DataArray) -> xr.DataArray:
    """Metric A: fraction of pixels with ``S - min(S) > 0.5 (max(S) - min(S))``.

    Constant maps have area 0.
    """
    lo = maps.min(("lat", "lon"))
    hi = maps.max(("lat", "lon"))
    above = (maps - lo) > 0.5 * (hi - lo)
    area = above.mean(("lat", "lon"))
    area.attrs.update(long_name="half-maximum sensitive area fraction (metric A)", units="1")
    return area.rename("area_a")


def ks_in_far(
    maps: xr.DataArray, in_near: xr.DataArray, group: xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray]:
    """Metric D per group: KS statistic of pooled in/near against far pixel values.

    Parameters
    ----------
    maps
        ``(station, lat, lon)`` z-scored maps.
    in_near
        ``(station, lat, lon)`` bool.
    group
        ``(station)`` group label (e.g. cluster).

    Returns
    -------
    (ks_d, ks_sign)
        ``ks_d(group)`` the two-sided statistic; ``ks_sign(group)`` +1 when in/near values are
        stochastically larger (higher sensitivity near the basins), -1 otherwise.
    """
    if maps.dims != ("station", "lat", "lon"):
        maps = maps.transpose("station", "lat", "lon")
    mask = in_near.sel(station=maps["station"]).transpose("station", "lat", "lon").values
    values = maps.values
    labels = group.sel(station=maps["station"]).values
    names = list(dict.fromkeys(labels.tolist()))
    d, sign = [], []
    for g in sorted(names, key=str):
        sel = labels == g
        inside, outside = values[sel][mask[sel]], values[sel][~mask[sel]]
        inside, outside = inside[np.isfinite(inside)], outside[np.isfinite(outside)]
        if len(inside) == 0 or len(outside) == 0:
            raise DataError(
                "cannot compute metric D: a group has no in/near or no far pixels",
                variable="in_near",
                expected="both in/near and far pixels",
                found=f"group {g}: {len(inside)} in/near, {len(outside)} far",
            )
        res = ks_2samp(inside, outside)
        d.append(float(res.statistic))
        sign.append(1.0 if np.median(inside) >= np.median(outside) else -1.0)
    dim = group.name if group.name and group.name != "station" else "group"
    coords = {dim: sorted(names, key=str)}
    ks_d = xr.DataArray(
        d,
        dims=(dim,),
        coords=coords,
        name="ks_d",
        attrs={"long_name": "KS statistic in/near vs far (metric D)", "units": "1"},
    )
    ks_sign = xr.DataArray(
        sign,
        dims=(dim,),
        coords=coords,
        name="ks_sign",
        attrs={"long_name": "+1 when in/near pixels are more sensitive"},
    )
    return ks_d, ks_sign
