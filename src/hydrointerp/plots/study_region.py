"""The study-region figure that opens every report (like Frontiers Fig 1).

Panel (a): stations coloured by hydrological regime on the map (province borders for a real
region, terrain and coastline for the virtual one). Panel (b): the same stations coloured by
glacier cover. Panel (c): each regime's mean z-scored seasonal hydrograph with the spread over its
stations.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm

from hydrointerp.experiments.regimes import REGIME_COLOURS
from hydrointerp.plots.maps import map_extent, province_borders_or_note
from hydrointerp.plots.save import save_figure

REGIME_ORDER = ("glacial", "nival", "pluvial", "plains")


def station_regimes(
    region: xr.Dataset,
    clusters: xr.DataArray | None = None,
    glacial_threshold: float = 0.01,
) -> xr.DataArray:
    """``regime(station)``: the simulator's truth if present, else the published rule.

    The published rule (METHODS.md 6.0): glacial when the glacier fraction exceeds 1 %, pluvial
    for the other stations of the Coastal cluster, nival for the rest.
    """
    if "regime" in region:
        values = [str(r).lower() for r in region["regime"].values]
    else:
        g = region["glacier_fraction"].values.astype(float)
        coastal = np.zeros(g.shape, dtype=bool)
        if clusters is not None:
            names = clusters.attrs.get("cluster_names") or []
            lab = clusters.sel(station=region["station"].values).values
            coastal = np.asarray([k < len(names) and names[k] == "Coastal" for k in lab])
        values = np.where(
            g > glacial_threshold, "glacial", np.where(coastal, "pluvial", "nival")
        ).tolist()
    return xr.DataArray(
        np.asarray(values, dtype=object),
        dims="station",
        coords={"station": region["station"].values},
        name="regime",
    )


def _background(ax: plt.Axes, region: xr.Dataset, shared: Path | None) -> None:
    lat, lon = region["lat"].values, region["lon"].values
    extent = map_extent(region)
    if "elevation" in region:
        elev = region["elevation"].transpose("lat", "lon").values
        land = np.ma.masked_less_equal(elev, 0.0)
        ax.imshow(
            np.where(elev > 0, np.nan, 1.0),
            extent=extent,
            cmap="Blues",
            vmin=0,
            vmax=3,
            origin="upper",
            interpolation="nearest",
        )
        im = ax.imshow(
            land, extent=extent, cmap="Greys", origin="upper", alpha=0.55, interpolation="bilinear"
        )
        ax.contour(lon, lat, elev, levels=[0.0], colors="k", linewidths=1.2)
        ax.figure.colorbar(im, ax=ax, shrink=0.7, pad=0.01, label="elevation (m)")
    else:
        province_borders_or_note(ax, shared)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_aspect(1.0 / np.cos(np.deg2rad(float(np.mean(lat)))))


def _regime_map(ax: plt.Axes, region: xr.Dataset, regime: xr.DataArray) -> None:
    lon, lat = region["station_lon"].values, region["station_lat"].values
    for name in REGIME_ORDER:
        sel = regime.values == name
        if sel.any():
            ax.scatter(
                lon[sel],
                lat[sel],
                s=28,
                c=REGIME_COLOURS[name],
                edgecolors="k",
                linewidths=0.4,
                label=f"{name} ({int(sel.sum())})",
                zorder=3,
            )
    ax.legend(loc="lower left", fontsize=7, title="regime", title_fontsize=7, framealpha=0.9)
    ax.set_title("(a) stations by regime", loc="left", fontsize=10)


def _glacier_map(ax: plt.Axes, region: xr.Dataset) -> None:
    lon, lat = region["station_lon"].values, region["station_lat"].values
    g = 100.0 * np.asarray(region["glacier_fraction"].values, dtype=float)
    none = g <= 0.01
    ax.scatter(
        lon[none],
        lat[none],
        s=14,
        facecolors="white",
        edgecolors="0.4",
        linewidths=0.5,
        label="no glacier",
        zorder=3,
    )
    if (~none).any():
        sc = ax.scatter(
            lon[~none],
            lat[~none],
            s=30,
            c=g[~none],
            cmap="cool",
            norm=LogNorm(vmin=max(0.01, g[~none].min()), vmax=max(1.0, g.max())),
            edgecolors="k",
            linewidths=0.4,
            zorder=4,
        )
        ax.figure.colorbar(sc, ax=ax, shrink=0.7, pad=0.01, label="glacier cover (%)")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
    ax.set_title("(b) glacier cover of the basins", loc="left", fontsize=10)


def _hydrographs(ax: plt.Axes, season: xr.DataArray, regime: xr.DataArray) -> None:
    day = season["dayofyear"].values
    for name in REGIME_ORDER:
        sel = regime.values == name
        if not sel.any():
            continue
        curves = season.sel(station=regime["station"].values[sel]).values
        mid = np.nanmedian(curves, axis=1)
        lo, hi = np.nanpercentile(curves, [25, 75], axis=1)
        ax.fill_between(day, lo, hi, color=REGIME_COLOURS[name], alpha=0.25, lw=0)
        ax.plot(day, mid, color=REGIME_COLOURS[name], lw=2, label=name)
    ticks = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]) + 1
    ax.set_xticks(ticks, list("JFMAMJJASOND"))
    ax.set_xlim(1, 365)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("day of year")
    ax.set_ylabel("seasonal flow (z-score)")
    ax.legend(fontsize=7)
    ax.set_title("(c) seasonal hydrographs (median, 25–75 %)", loc="left", fontsize=10)


def study_region_figure(
    region: xr.Dataset,
    season: xr.DataArray,
    out: str | os.PathLike[str],
    clusters: xr.DataArray | None = None,
    shared: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the study-region figure and save it as PNG (atomically).

    Parameters
    ----------
    region
        RegionData (``elevation`` present for the virtual region).
    season
        ``flowseason(dayofyear, station)`` z-scored seasonal flow (``training.cluster``).
    out
        PNG path.
    clusters
        ``cluster(station)`` with ``cluster_names`` attrs; used for the published regime rule.
    shared
        Shared folder for the province borders.
    """
    regime = station_regimes(region, clusters)
    fig = plt.figure(figsize=(13, 8.2), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1.0])
    ax_a, ax_b = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_c = fig.add_subplot(grid[1, :])
    for ax in (ax_a, ax_b):
        _background(ax, region, Path(shared) if shared else None)
    _regime_map(ax_a, region, regime)
    _glacier_map(ax_b, region)
    _hydrographs(ax_c, season, regime)
    fig.suptitle(title or "Study region", fontsize=12)
    return save_figure(fig, out, dpi=110, tight=False)
