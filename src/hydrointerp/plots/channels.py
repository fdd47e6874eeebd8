"""FRONT ``channel_sensitivity.png``: S_T,max and S_P,max through the year per regime group.

Seven panels (Glacial in a red frame, the nival clusters purple, Coastal teal); red S_T, blue
S_P on the left axis (0..1), black group-mean modelled normalised flow on the right axis.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.experiments.regimes import REGIME_COLOURS
from hydrointerp.plots.save import save_figure


def plot_channel_sensitivity(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """The 7-panel (or one per group) figure from ``channel_importance.nc`` content."""
    groups = [str(g) for g in ds["group"].values]
    ncol = 2 if len(groups) > 1 else 1
    nrow = int(np.ceil(len(groups) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.0 * ncol, 2.4 * nrow), squeeze=False)
    time = ds["time"].values
    for n, (ax, g) in enumerate(zip(axes.flat, groups, strict=False)):
        ax.plot(time, ds["s_temperature"].sel(group=g), color="tab:red", label="$S_{T,max}$")
        ax.plot(time, ds["s_precipitation"].sel(group=g), color="tab:blue", label="$S_{P,max}$")
        ax.set_ylim(-0.02, 1.05)
        ax.set_ylabel("scaled sensitivity")
        right = ax.twinx()
        right.plot(time, ds["flow_group"].sel(group=g), color="k", lw=0.9, label="flow")
        right.set_ylabel("normalised flow")
        regime = str(ds["group_regime"].sel(group=g).values)
        colour = REGIME_COLOURS.get(regime, "0.5")
        for spine in (*ax.spines.values(), *right.spines.values()):
            spine.set_edgecolor(colour)
            spine.set_linewidth(2.0)
        ax.set_title(f"({chr(97 + n)}) {g} ({regime})")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
        if n == 0:
            lines = ax.get_lines() + right.get_lines()
            ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(f"Input-variable importance through the year ({ds.attrs.get('method', '')})")
    fig.tight_layout()
    return save_figure(fig, path)
