"""Figures of a (virtual) region: terrain, basins and gauges by regime; hydrographs by source.

Example
-------
>>> from hydrointerp.plots.region import save_region_figures
>>> save_region_figures(region, "runs/demo/figures")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D

from hydrointerp.errors import DataError
from hydrointerp.experiments.regimes import REGIME_COLOURS
from hydrointerp.plots.maps import (
    add_colorbar,
    draw_basins,
    draw_gauges,
    draw_province_borders,
    imshow_field,
)
from hydrointerp.plots.save import save_figure

COMPONENT_COLOURS = {"rain": "#4c9be8", "snowmelt": "#b8c7d9", "glacier_melt": "#1f4e79"}
COMPONENT_LABELS = {"rain": "rain", "snowmelt": "snowmelt", "glacier_melt": "glacier melt"}
_LAND = LinearSegmentedColormap.from_list(
    "land", ["#5a8f3c", "#a9b96b", "#d8c58f", "#a0825f", "#ffffff"]
)
_SEA = "#a6cee3"


def _require(region: xr.Dataset, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in region]
    if missing:
        raise DataError(
            "region lacks the variables of a virtual region",
            variable=", ".join(missing),
            expected="generate_region output",
            found="missing",
        )


def _regimes(region: xr.Dataset) -> list[str]:
    present = [str(r) for r in region["regime"].values]
    return [r for r in REGIME_COLOURS if r in present]


def plot_region_map(
    region: xr.Dataset,
    ax: plt.Axes | None = None,
    shared_dir: str | None = None,
    borders: bool | None = None,
) -> plt.Figure:
    """Terrain with the sea, basin outlines, gauges coloured by regime, sized by glacier cover.

    ``borders`` draws the real province borders; by default only for regions that are not
    virtual (a synthetic coastline and real borders would disagree).
    """
    _require(region, ("elevation", "regime", "basin_mask"))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 5.2))
    land = region["land"] if "land" in region else region["elevation"] > 0
    ax.set_facecolor(_SEA)
    image = imshow_field(ax, region["elevation"].where(land > 0), cmap=_LAND, vmin=0)
    add_colorbar(ax, image, "Elevation (m)")
    draw_basins(ax, region["basin_mask"], color="#333333", linewidth=0.6)
    if borders if borders is not None else "virtual_config" not in region.attrs:
        draw_province_borders(ax, shared_dir, color="#555555", linewidth=0.8, linestyle="--")
    gf = np.asarray(region["glacier_fraction"].values, float)
    sizes = 25 + 260 * gf
    colours = [REGIME_COLOURS.get(str(r), "grey") for r in region["regime"].values]
    draw_gauges(
        ax, region["station_lon"], region["station_lat"], color=colours, size=sizes, linewidths=0.8
    )
    handles = [
        Line2D([], [], marker="o", ls="", mfc=REGIME_COLOURS[r], mec="k", ms=8, label=r.title())
        for r in _regimes(region)
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            mfc="none",
            mec="k",
            ms=np.sqrt(25 + 260 * g),
            label=f"{g:.0%} ice",
        )
        for g in (0.0, 0.25, 0.5)
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=7, fontsize=8)
    ax.set_title("Virtual region: terrain, gauged basins and flow regimes")
    return ax.figure


def _specific_climatology(region: xr.Dataset) -> xr.DataArray:
    """Mean day-of-year runoff by source (mm/day) after the spin-up, 7-day smoothed."""
    comp = region["flow_component"]
    start = region.attrs.get("spinup_end")
    if start:
        comp = comp.sel(time=slice(start, None))
    mm = comp * 86400.0 / 1e3 / region["area_km2"]
    clim = mm.groupby("time.dayofyear").mean().sel(dayofyear=slice(1, 365))
    return clim.rolling(dayofyear=7, center=True, min_periods=1).mean()


def plot_regime_hydrographs(region: xr.Dataset) -> plt.Figure:
    """Mean annual hydrograph of each regime, stacked by source (rain, snowmelt, glacier melt)."""
    _require(region, ("flow_component", "regime"))
    clim = _specific_climatology(region)
    regimes = _regimes(region)
    fig, axes = plt.subplots(
        1, len(regimes), figsize=(3.4 * len(regimes), 3.6), sharex=True, squeeze=False
    )
    month_starts = [1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335]
    for ax, regime in zip(axes[0], regimes, strict=True):
        members = np.asarray(region["regime"].values == regime)
        mean = clim.isel(station=members).mean("station")
        day = mean["dayofyear"].values
        comps = [str(c) for c in mean["component"].values]
        ax.stackplot(
            day,
            *(mean.sel(component=c).values for c in comps),
            colors=[COMPONENT_COLOURS[c] for c in comps],
            labels=[COMPONENT_LABELS[c] for c in comps],
            linewidth=0,
        )
        ax.plot(day, mean.sum("component").values, color="k", lw=0.8)
        ax.set_title(f"{regime.title()} (n = {int(members.sum())})", color=REGIME_COLOURS[regime])
        ax.set_xticks(month_starts, list("JFMAMJJASOND"))
        ax.set_xlim(1, 365)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Month")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Runoff (mm day$^{-1}$)")
    axes[0][-1].legend(loc="upper right", fontsize=8)
    fig.suptitle("Mean annual hydrograph by regime and water source")
    fig.tight_layout()
    return fig


def save_region_figures(
    region: xr.Dataset, out_dir: str | os.PathLike[str], shared_dir: str | None = None
) -> list[Path]:
    """Write ``region_map.png`` and ``regime_hydrographs.png`` into ``out_dir``."""
    out = Path(out_dir)
    return [
        save_figure(plot_region_map(region, shared_dir=shared_dir), out / "region_map.png"),
        save_figure(plot_regime_hydrographs(region), out / "regime_hydrographs.png"),
    ]
