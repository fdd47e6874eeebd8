"""HESS Fig 11: August flow sensitivity to August temperature against glacier cover."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from scipy.stats import gaussian_kde

from hydrointerp.plots.save import save_figure

CLASS_COLOURS = ("#9e9e9e", "#9fdef9", "#4a90c2", "#15406a")


def plot_august(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """(a) slope dQ/dT against glacier cover (%), (b) Gaussian KDEs of the slope per class."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    g = 100 * ds["glacier_fraction"].values
    s = ds["slope"].values
    cls = ds["glacier_class"].values
    a.scatter(g, s, c=[CLASS_COLOURS[c] for c in cls], s=16, edgecolor="k", linewidth=0.3)
    a.axhline(0, color="k", ls="--", lw=0.8)
    a.set_xlabel("glacier cover (%)")
    a.set_ylabel(r"$dQ_{Aug}/dT_{Aug}$ (normalised flow K$^{-1}$)")
    a.set_title("(a)")
    grid = np.linspace(s.min() - 0.05, s.max() + 0.05, 300)
    names = str(ds["glacier_class"].attrs["class_names"]).split(" | ")  # the result's own
    for k, name in enumerate(names):
        vals = s[cls == k]
        if len(vals) > 2 and np.ptp(vals) > 0:
            b.plot(
                grid,
                gaussian_kde(vals)(grid),
                color=CLASS_COLOURS[k],
                label=f"{name} (n={len(vals)})",
            )
        elif len(vals):
            b.plot(vals, np.zeros_like(vals), "|", color=CLASS_COLOURS[k], label=name)
    b.axvline(0, color="k", ls="--", lw=0.8)
    b.set_xlabel(r"$dQ_{Aug}/dT_{Aug}$ (normalised flow K$^{-1}$)")
    b.set_ylabel("density")
    b.set_title("(b)")
    b.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
