"""HESS Fig 7: the ensemble-mean z-scored sensitivity map of each cluster.

``RdBu_r`` with symmetric limits, colour bar "S(x, y)", the cluster's in/near region outlined in
white, gauges as white dots, province borders when :mod:`hydrointerp.plots.maps` provides them.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.plots.maps import map_extent, province_borders_or_note
from hydrointerp.plots.save import save_figure


def draw_map(
    ax: plt.Axes,
    field: xr.DataArray,
    in_near: xr.DataArray | None = None,
    gauges: tuple[np.ndarray, np.ndarray] | None = None,
    vmax: float | None = None,
    cmap: str = "RdBu_r",
) -> matplotlib.image.AxesImage:
    """One sensitivity map with the in/near outline (white) and gauges (white dots)."""
    lat, lon = field["lat"].values, field["lon"].values
    vals = field.transpose("lat", "lon").values
    vmax = vmax if vmax is not None else float(np.nanmax(np.abs(vals))) or 1.0
    im = ax.imshow(
        vals,
        extent=map_extent(field),
        cmap=cmap,
        vmin=-vmax,
        vmax=vmax,
        origin="upper",
        aspect="auto",
    )
    if in_near is not None and bool(in_near.any()):
        ax.contour(
            lon,
            lat,
            in_near.transpose("lat", "lon").values.astype(float),
            levels=[0.5],
            colors="white",
            linewidths=1.0,
        )
    if gauges is not None:
        ax.scatter(gauges[1], gauges[0], s=6, c="white", edgecolors="k", linewidths=0.3, zorder=3)
    province_borders_or_note(ax)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    return im


def plot_cluster_heat_maps(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """HESS Fig 7 from ``heat_map.nc`` content: one panel per cluster."""
    clusters = ds["cluster"].values
    ncol = min(2, len(clusters))
    nrow = int(np.ceil(len(clusters) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.0 * ncol, 2.9 * nrow), squeeze=False)
    labels = ds["station_cluster"].values
    for ax, k in zip(axes.flat, clusters, strict=False):
        sel = labels == k
        field = ds["cluster_sensitivity"].sel(cluster=k)
        in_near = ds["in_near"].isel(station=sel).any("station")
        gauges = (ds["station_lat"].values[sel], ds["station_lon"].values[sel])
        im = draw_map(ax, field, in_near, gauges)
        name = str(ds["cluster_name"].sel(cluster=k).values)
        d = float(ds["ks_d"].sel(cluster=k)) * float(ds["ks_sign"].sel(cluster=k))
        ax.set_title(f"{name} (D = {d:+.2f})")
        fig.colorbar(im, ax=ax, label="S(x, y)", shrink=0.9)
    for ax in list(axes.flat)[len(clusters) :]:
        ax.set_visible(False)
    fig.suptitle("Ensemble-mean z-scored sensitivity per cluster")
    fig.tight_layout()
    return save_figure(fig, path)
