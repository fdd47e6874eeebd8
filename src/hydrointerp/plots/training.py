"""Figures of the training stage: clustering (dendrogram, HESS Fig 2), skill maps and box plots
(HESS Fig 8 style), training curves. Each function writes one PNG atomically and returns its path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from scipy.cluster.hierarchy import dendrogram, linkage

from hydrointerp.plots.save import save_figure

_MONTH_STARTS = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]) + 1
_MONTHS = ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]


def _names_colours(clusters: xr.DataArray) -> tuple[list[str], list[str]]:
    n = int(clusters.max()) + 1
    names = list(clusters.attrs.get("cluster_names", [f"cluster {k}" for k in range(n)]))
    cmap = plt.get_cmap("tab10")
    colours = list(clusters.attrs.get("cluster_colors", [cmap(k % 10) for k in range(n)]))
    return names, colours


def plot_dendrogram(
    features: xr.DataArray,
    path: str | os.PathLike[str],
    n_clusters: int | None = None,
    levels: int = 4,
) -> Path:
    """Ward dendrogram of the clustering features (top ``levels`` levels).

    With ``n_clusters`` a dashed line cuts the tree where it gives that many clusters (for the
    published six clusters the cut lies near the published line at distance 100).
    """
    z = linkage(features.values, method="ward")
    cut = None
    if n_clusters is not None and 1 < n_clusters <= len(z):
        cut = 0.5 * (z[-n_clusters, 2] + z[-n_clusters + 1, 2])
    fig, ax = plt.subplots(figsize=(7, 4))
    dendrogram(
        z, truncate_mode="level", p=levels, ax=ax, color_threshold=0, above_threshold_color="k"
    )
    if cut is not None:
        ax.axhline(cut, color="tab:red", ls="--", lw=1, label=f"{n_clusters} clusters")
        ax.legend(frameon=False)
    ax.set_xlabel("stations (count in brackets)")
    ax.set_ylabel("Ward distance")
    ax.set_title("Station clustering: seasonal flow + location")
    return save_figure(fig, path, dpi=130)


def plot_cluster_patterns(
    flowseason: xr.DataArray,
    clusters: xr.DataArray,
    lat: np.ndarray,
    lon: np.ndarray,
    path: str | os.PathLike[str],
) -> Path:
    """HESS Fig 2: stations in space coloured by cluster, and per cluster every station's
    normalised seasonal flow (grey) with the cluster mean (colour)."""
    names, colours = _names_colours(clusters)
    n = len(names)
    ncol = 3
    nrow = 1 + int(np.ceil(n / ncol))
    fig = plt.figure(figsize=(11, 2.6 * nrow))
    grid = fig.add_gridspec(nrow, ncol)
    ax_map = fig.add_subplot(grid[0, :])
    lab = clusters.values
    for k in range(n):
        sel = lab == k
        ax_map.scatter(
            np.asarray(lon)[sel],
            np.asarray(lat)[sel],
            s=22,
            color=colours[k],
            edgecolor="k",
            lw=0.3,
            label=f"{names[k]} ({sel.sum()})",
        )
    ax_map.set_xlabel("longitude (°E)")
    ax_map.set_ylabel("latitude (°N)")
    ax_map.set_aspect(1 / np.cos(np.deg2rad(np.nanmean(lat))))
    ax_map.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fs = flowseason.transpose("dayofyear", "station").values
    day = np.asarray(flowseason["dayofyear"].values)
    for k in range(n):
        ax = fig.add_subplot(grid[1 + k // ncol, k % ncol])
        sel = lab == k
        ax.plot(day, fs[:, sel], color="0.75", lw=0.5)
        ax.plot(day, fs[:, sel].mean(axis=1), color=colours[k], lw=2.2)
        ax.set_title(f"{names[k]} (n = {sel.sum()})", fontsize=9)
        ax.set_xticks(_MONTH_STARTS, _MONTHS, fontsize=7)
        ax.set_xlim(1, 365)
        if k % ncol == 0:
            ax.set_ylabel("normalised seasonal flow (–)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=130)


def plot_nse_map(
    table: xr.Dataset,
    lat: np.ndarray,
    lon: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "Ensemble-mean NSE",
) -> Path:
    """Map of per-station NSE (colour), with a histogram beside it."""
    nse = table["nse"].values
    fig, (ax, axh) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[3, 1])
    sc = ax.scatter(
        lon, lat, c=np.clip(nse, 0, 1), cmap="viridis", vmin=0, vmax=1, s=28, edgecolor="k", lw=0.3
    )
    fig.colorbar(sc, ax=ax, label="NSE (–), clipped to [0, 1]")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(f"{title}: median {np.nanmedian(nse):.2f}")
    axh.hist(nse[np.isfinite(nse)], bins=np.linspace(min(0, np.nanmin(nse)), 1, 21), color="0.4")
    axh.set_xlabel("NSE (–)")
    axh.set_ylabel("stations")
    fig.tight_layout()
    return save_figure(fig, path, dpi=130)


def plot_nse_boxplots(
    bulk: xr.Dataset, fine: xr.Dataset, clusters: xr.DataArray, path: str | os.PathLike[str]
) -> Path:
    """HESS Fig 8 style: NSE per cluster, bulk (hatched) vs fine-tuned (filled)."""
    names, colours = _names_colours(clusters)
    lab = clusters.sel(station=bulk["station"]).values
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 4))
    for k in range(len(names)):
        for j, (ds, hatch) in enumerate(((bulk, "//"), (fine, ""))):
            vals = ds["nse"].values[lab == k]
            bp = ax.boxplot(
                vals[np.isfinite(vals)],
                positions=[3 * k + j],
                widths=0.8,
                patch_artist=True,
                showfliers=False,
            )
            bp["boxes"][0].set(facecolor=colours[k], hatch=hatch, alpha=0.85)
            bp["medians"][0].set(color="k")
    ax.set_xticks([3 * k + 0.5 for k in range(len(names))], names, rotation=20)
    ax.set_ylabel("NSE (–)")
    ax.set_ylim(max(-1, ax.get_ylim()[0]), 1)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(facecolor="w", edgecolor="k", hatch="//", label="bulk"),
            Patch(facecolor="0.6", edgecolor="k", label="fine-tuned"),
        ],
        loc="lower left",
        frameon=False,
    )
    ax.set_title("Test NSE per cluster: bulk vs fine-tuned ensemble")
    return save_figure(fig, path, dpi=130)


def plot_training_curves(
    logs: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str]
) -> Path:
    """Training and validation loss per epoch of every member log CSV."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, log in enumerate(logs):
        df = pd.read_csv(log)
        c = plt.get_cmap("tab10")(i % 10)
        ax.plot(df["epoch"], df["train_loss"], color=c, ls="--", lw=1)
        ax.plot(df["epoch"], df["val_loss"], color=c, lw=1.5, label=Path(log).stem[10:])
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked MSE (normalised flow²)")
    ax.set_title("Training (dashed) and validation (solid) loss")
    ax.legend(fontsize=7, frameon=False)
    return save_figure(fig, path, dpi=130)
