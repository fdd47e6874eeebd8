"""Experiment 1 animations: per cluster, the daily sensitivity map beside the cluster hydrograph.

One GIF per cluster (``sensitivity_daily_cluster_K.gif``); each frame is one day: the daily
cluster-mean map z-scored over pixels (RdBu_r, symmetric), the cluster's in/near region in white
and gauges as white dots; on the right the cluster-mean modelled flow with a marker on the day.
Also a static figure of the two pattern maps per cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from PIL import Image

from hydrointerp.atomic import atomic_path
from hydrointerp.experiments.metrics_spatial import zscore_map
from hydrointerp.plots.heat_map import draw_map
from hydrointerp.plots.save import save_figure

#: colour map of the daily maps (the GIF palette is built from it)
MAP_CMAP = "RdBu_r"


def _frame(fig: plt.Figure) -> np.ndarray:
    """The figure's pixels as an RGB array (no image encoding on the way)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def cluster_gif(ds: xr.Dataset, k: int, path: str | os.PathLike[str], fps: int = 8) -> Path:
    """The animation of cluster ``k`` from ``sensitivity_daily.nc`` content.

    The figure is drawn once; each frame only replaces the map's pixels, the title and the marker
    on the hydrograph (365 frames take seconds, not minutes).
    """
    maps = zscore_map(ds["sensitivity"].sel(cluster=k)).transpose("time", "lat", "lon")
    sel = ds["station_cluster"].values == k
    in_near = ds["in_near"].isel(station=sel).any("station")
    gauges = (ds["station_lat"].values[sel], ds["station_lon"].values[sel])
    flow = ds["cluster_flow"].sel(cluster=k)
    vmax = float(np.nanmax(np.abs(maps.values))) or 1.0
    name = str(ds["cluster_name"].sel(cluster=k).values)
    days = ds["time"].values
    fig, (a, b) = plt.subplots(
        1, 2, figsize=(10, 3), dpi=70, gridspec_kw={"width_ratios": [1.4, 1]}
    )
    im = draw_map(a, maps.isel(time=0), in_near, gauges, vmax=vmax, cmap=MAP_CMAP)
    fig.colorbar(im, ax=a, label="S(x, y) (z-score)")
    title = a.set_title(f"{name}: {str(days[0])[:10]}")
    b.plot(flow["time"].values, flow.values, color="k", lw=1)
    (marker,) = b.plot([days[0]], [float(flow.isel(time=0))], "o", color="tab:red")
    b.set_ylabel("normalised flow")
    b.set_xlabel("date")
    b.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    frames = []
    for i, day in enumerate(days):
        im.set_data(maps.values[i])
        title.set_text(f"{name}: {str(day)[:10]}")
        marker.set_data([day], [float(flow.values[i])])
        frames.append(_frame(fig))
    plt.close(fig)
    _save_gif(frames, path, fps)
    return Path(path)


def _save_gif(frames: list[np.ndarray], path: str | os.PathLike[str], fps: int) -> None:
    """Write the frames with one palette: 200 colours of the map's colour map, 48 greys for
    text and lines, and the marker's red. A shared palette lets the GIF store only what changes
    between frames (a third of the size), and the map keeps its own colours."""
    cmap = matplotlib.colormaps[MAP_CMAP]
    colours = [cmap(x)[:3] for x in np.linspace(0, 1, 200)]
    colours += [(g, g, g) for g in np.linspace(0, 1, 48)]
    colours += [matplotlib.colors.to_rgb("tab:red")]
    flat = (np.round(np.asarray(colours) * 255).astype(np.uint8)).ravel().tolist()
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [0] * (768 - len(flat)))
    images = [
        Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames
    ]
    with atomic_path(path) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=round(1000 / fps),
            loop=0,
        )


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
    return save_figure(fig, path)


def plot_daily_gifs(ds: xr.Dataset, folder: str | os.PathLike[str]) -> list[Path]:
    """Every cluster's GIF plus the pattern-map figure into ``folder``."""
    folder = Path(folder)
    out = [
        cluster_gif(ds, int(k), folder / f"sensitivity_daily_cluster_{int(k)}.gif")
        for k in ds["cluster"].values
    ]
    out.append(plot_pattern_maps(ds, folder / "sensitivity_patterns.png"))
    return out
