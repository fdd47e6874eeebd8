"""Figures of the warming/cooling experiment: HESS Fig 9 (freshet tracking) and Fig 10."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.plots.save import save_figure

COASTAL = 3


def cluster_label(k: object) -> str:
    """Official cluster name of a label (falls back to ``cluster k``)."""
    from hydrointerp.experiments.regimes import CLUSTER_NAMES

    try:
        return CLUSTER_NAMES[int(k)]
    except (ValueError, IndexError):
        return f"cluster {k}"


def cluster_colour(k: object) -> tuple[float, float, float]:
    """Official cluster colour (METHODS.md section 3) or a tab10 colour."""
    from hydrointerp.training.cluster import PUBLISHED_CLUSTERS

    try:
        return tuple(c / 256 for c in PUBLISHED_CLUSTERS[int(k)][2])
    except (KeyError, ValueError):
        return plt.get_cmap("tab10")(hash(str(k)) % 10)[:3]


def plot_freshet_tracking(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """HESS Fig 9: day-of-year x dT image of smoothed cluster flow (Blues, +5 K on top) per
    cluster, with the Tmin = 0 C (solid) and Tmax = 0 C (dashed) transition days."""
    clusters = ds["cluster"].values
    ncol = min(3, len(clusters))
    nrow = int(np.ceil(len(clusters) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    dt = ds["delta_t"].values
    order = np.argsort(-dt)
    for ax, k in zip(axes.flat, clusters, strict=False):
        img = ds["flow"].sel(cluster=k).values[order]
        doy = ds["dayofyear"].values
        im = ax.imshow(
            img,
            aspect="auto",
            cmap="Blues",
            origin="upper",
            extent=[doy[0] - 0.5, doy[-1] + 0.5, dt.min() - 0.5, dt.max() + 0.5],
        )
        ax.plot(ds["freezing_day"].sel(cluster=k) + 1, dt, "k-", lw=1.2, label="Tmin = 0 °C")
        ax.plot(ds["freezing_day_tmax"].sel(cluster=k) + 1, dt, "k--", lw=1.2, label="Tmax = 0 °C")
        ax.plot(
            ds["freshet_day"].sel(cluster=k) + 1, dt, "o", ms=3, color="#DC3D4B", label="$t_{half}$"
        )
        ax.set_title(cluster_label(k))
        ax.set_xlabel("day of year")
        ax.set_ylabel("ΔT (K)")
        fig.colorbar(im, ax=ax, label="normalised flow")
    for ax in list(axes.flat)[len(clusters) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_freshet_vs_freezing(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """HESS Fig 10: freshet onset and peak flow against the Tmin transition day, every cluster
    except Coastal, one colour per cluster, with least-squares lines."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8))
    for k in ds["cluster"].values:
        if int(k) == COASTAL:
            continue
        t0 = ds["freezing_day"].sel(cluster=k).values
        for ax, var in ((a, "freshet_day"), (b, "peak_flow")):
            y = ds[var].sel(cluster=k).values
            ax.scatter(t0, y, s=18, color=cluster_colour(k), label=cluster_label(k))
            if np.ptp(t0) > 0:
                fit = np.polyfit(t0, y, 1)
                ax.plot(np.sort(t0), np.polyval(fit, np.sort(t0)), color=cluster_colour(k), lw=1)
    a.set_xlabel("$t_{0,min}$ (day of year)")
    a.set_ylabel("$t_{freshet}$ (day of year)")
    b.set_xlabel("$t_{0,min}$ (day of year)")
    b.set_ylabel("$Q_{max}$ (normalised flow)")
    a.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
