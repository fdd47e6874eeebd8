"""One-page figure of the fidelity scores: one panel per experiment, bars per metric and method."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hydrointerp.plots.warming import plt, save_figure

METHOD_COLOURS = {
    "simulator": "#bdbdbd",
    "perturbation": "#DC3D4B",
    "integrated_gradients": "#735573",
    "saliency": "#6BB3C4",
}


def plot_fidelity(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Bars of each experiment's headline scores (the simulator scored against itself is the
    grey reference, 1 for a perfect interpretation)."""
    experiments = list(dict.fromkeys(table["experiment"]))
    fig, axes = plt.subplots(
        len(experiments), 1, figsize=(8.27, 2.4 * len(experiments) + 0.6), squeeze=False
    )
    for ax, exp in zip(axes[:, 0], experiments, strict=True):
        sub = table[table["experiment"] == exp]
        metrics = [m for m in dict.fromkeys(sub["metric"]) if "_truth" not in m][:8]
        methods = list(dict.fromkeys(sub["method"]))
        width = 0.8 / len(methods)
        for j, method in enumerate(methods):
            vals = sub[sub["method"] == method].set_index("metric")["value"]
            y = [vals.get(m, np.nan) for m in metrics]
            ax.bar(
                np.arange(len(metrics)) + (j - (len(methods) - 1) / 2) * width,
                y,
                width,
                color=METHOD_COLOURS.get(method, "k"),
                label=method,
            )
        if not np.isfinite(sub["value"].to_numpy(float)).any():
            ax.text(
                0.5,
                0.5,
                "no score (see fidelity.csv: nothing selected or no truth)",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
            )
        ax.set_xticks(range(len(metrics)), metrics, rotation=15, fontsize=8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("score")
        ax.set_title(exp)
        ax.legend(fontsize=7, ncol=len(methods))
    fig.suptitle("Fidelity of the network's interpretations against the simulator's truth")
    fig.tight_layout()
    return save_figure(fig, path)
