"""Experiment 1 animations: per cluster, the daily sensitivity map beside the cluster hydrograph.

One GIF per cluster (``sensitivity_daily_cluster_K.gif``); each frame is one day: the daily
cluster-mean map z-scored over pixels (RdBu_r, symmetric), the cluster's in/near region in white
and gauges as white dots; on the right the cluster-mean modelled flow with a marker on the day.
Also a static figure of the two pattern maps per cluster.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import imageio.v2 as imageio  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from hydrointerp.atomic import atomic_path  # noqa: E402
from hydrointerp.experiments.metrics_spatial import zscore_map  # noqa: E402
from hydrointerp.plots.heat_map import draw_map, save  # noqa: E402


def _frame(fig: plt.Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=70)
    buf.seek(0)
    return imageio.imread(buf)


def cluster_gif(ds: xr.Dataset, k: int, path: str | os.PathLike[str], fps: int = 8) -> Path:
    """The animation of cluster ``k`` from ``sensitivity_daily.nc`` content."""
    maps = zscore_map(ds["sensitivity"].sel(cluster=k))
    sel = ds["station_cluster"].values == k
    in_near = ds["in_near"].isel(station=sel).any("station")
    gauges = (ds["station_lat"].values[sel], ds["station_lon"].values[sel])
    flow = ds["cluster_flow"].sel(cluster=k)
    vmax = float(np.nanmax(np.abs(maps.values))) or 1.0
    name = str(ds["cluster_name"].sel(cluster=k).values)
    frames = []
    for i, day in enumerate(ds["time"].values):
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [1.4, 1]})
        im = draw_map(a, maps.isel(time=i), in_near, gauges, vmax=vmax)
        fig.colorbar(im, ax=a, label="S(x, y) (z-score)")
        a.set_title(f"{name}: {str(day)[:10]}")
        b.plot(flow["time"].values, flow.values, color="k", lw=1)
        b.plot([day], [float(flow.isel(time=i))], "o", color="tab:red")
        b.set_ylabel("normalised flow")
        b.set_xlabel("date")
        b.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        frames.append(_frame(fig))
        plt.close(fig)
    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, frames, format="GIF", duration=1.0 / fps, loop=0)
    return Path(path)


def plot_pattern_maps(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Low-flow and high-flow pattern maps per cluster (two columns) with their D."""
    clusters = ds["cluster"].values
    fig, axes = plt.subplots(len(clusters), 2, figsize=(11, 2.6 * len(clusters)), squeeze=False)
    labels = ds["station_cluster"].values
    for row, k in zip(axes, clusters, strict=True):
        sel = labels == k
        in_near = ds["in_near"].isel(station=sel).any("station")
        gauges = (ds["station_lat"].values[sel], ds["station_lon"].values[sel])
        for ax, p in zip(row, ds["flow_pattern"].values, strict=True):
            im = draw_map(ax, ds["pattern_map"].sel(flow_pattern=p, cluster=k), in_near, gauges)
            d = float(ds["pattern_ks_d"].sel(flow_pattern=p, cluster=k))
            ax.set_title(f"{ds['cluster_name'].sel(cluster=k).values}: {p} (D = {d:.2f})")
            fig.colorbar(im, ax=ax, label="S(x, y)")
    fig.tight_layout()
    return save(fig, path)


def plot_daily_gifs(ds: xr.Dataset, folder: str | os.PathLike[str]) -> list[Path]:
    """Every cluster's GIF plus the pattern-map figure into ``folder``."""
    folder = Path(folder)
    out = [
        cluster_gif(ds, int(k), folder / f"sensitivity_daily_cluster_{int(k)}.gif")
        for k in ds["cluster"].values
    ]
    out.append(plot_pattern_maps(ds, folder / "sensitivity_patterns.png"))
    return out
