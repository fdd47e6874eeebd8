"""Experiment 3 figures: seasonal box plots of event anomalies by regime (like
``0antecedent_328top.png``) and the summer Tmax anomaly against glacier fraction."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.experiments.regimes import REGIME_COLOURS, REGIMES
from hydrointerp.plots.save import save_figure

SEASON_TITLES = {
    "DJF": "Winter (DJF)",
    "MAM": "Spring (MAM)",
    "JJA": "Summer (JJA)",
    "SON": "Fall (SON)",
}
VARIABLE_LABELS = {"tmax": "$T_{max}$", "tmin": "$T_{min}$", "precip": "P"}


def plot_driver_boxes(ds: xr.Dataset, path: str | os.PathLike[str], lag: int = 0) -> Path:
    """Four seasonal panels; box plots over stations of the anomaly of each variable, hue =
    regime (glacial red, nival purple, pluvial teal), dashed zero line."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), sharey=True)
    variables = [str(v) for v in ds["variable"].values]
    regimes = [r for r in REGIMES if r in set(ds["regime"].values)]
    width = 0.8 / max(len(regimes), 1)
    for ax, season in zip(axes, [str(q) for q in ds["season"].values], strict=True):
        a = ds["anomaly"].sel(season=season, lag=lag)
        for j, reg in enumerate(regimes):
            data = [a.sel(variable=v).values[ds["regime"].values == reg] for v in variables]
            data = [d[np.isfinite(d)] for d in data]
            pos = np.arange(len(variables)) + (j - (len(regimes) - 1) / 2) * width
            bp = ax.boxplot(
                data, positions=pos, widths=width * 0.9, patch_artist=True, showfliers=False
            )
            for box in bp["boxes"]:
                box.set(facecolor=REGIME_COLOURS[reg], alpha=0.85)
            for med in bp["medians"]:
                med.set(color="k")
        ax.axhline(0, color="k", ls="--", lw=0.8)
        ax.set_xticks(range(len(variables)), [VARIABLE_LABELS.get(v, v) for v in variables])
        ax.set_title(SEASON_TITLES[season])
    axes[0].set_ylabel("anomaly (normalised units)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=REGIME_COLOURS[r]) for r in regimes]
    axes[-1].legend(handles, [r.capitalize() for r in regimes], fontsize=8)
    fig.suptitle(f"Weather on antecedent day {lag} of the largest modelled flow rises")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_summer_tmax_vs_glacier(ds: xr.Dataset, path: str | os.PathLike[str], lag: int = 0) -> Path:
    """Summer (JJA) Tmax anomaly of the events against glacier fraction, with 95 % intervals."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sel = dict(season="JJA", variable="tmax", lag=lag)
    a, lo, hi = (ds[k].sel(**sel).values for k in ("anomaly", "anomaly_low", "anomaly_high"))
    g = 100 * ds["glacier_fraction"].values
    for reg in REGIMES:
        m = ds["regime"].values == reg
        if m.any():
            ax.errorbar(
                g[m],
                a[m],
                yerr=[a[m] - lo[m], hi[m] - a[m]],
                fmt="o",
                ms=4,
                color=REGIME_COLOURS[reg],
                elinewidth=0.5,
                label=reg.capitalize(),
            )
    ax.axhline(0, color="k", ls="--", lw=0.8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(-0.02, max(1.0, 1.5 * float(g.max())))
    ax.set_xlabel("glacier cover (%)")
    ax.set_ylabel("JJA $T_{max}$ anomaly (normalised)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
