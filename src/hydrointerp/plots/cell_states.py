"""Experiment 4 figure, like ``cell_state_panels.png`` (three panels)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.plots.save import save_figure


def plot_cell_state_panels(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """(a) max(Tmean, 0 C) (blue) with the cell-state pattern (black, right axis); (b) lagged
    residuals of the state and temperature; (c) rolling correlation against window start."""
    fig, axes = plt.subplots(3, 1, figsize=(8, 9))
    t = ds["time"].values
    a = axes[0]
    a.plot(t, ds["temperature"] - 273.0, color="tab:blue")
    a.set_ylabel("max($T_{mean}$, 273 K) - 273 K (°C)", color="tab:blue")
    a2 = a.twinx()
    a2.plot(t, ds["pattern"], color="k")
    a2.set_ylabel("cell state pattern (z)")
    a.set_title("(a) temperature and the glacier-runoff-like cell-state pattern")
    lag = int(ds.attrs["best_lag"])
    half = lag // 2
    b = axes[1]
    n = len(t)
    b.plot(
        t[: n - lag],
        ds["pattern_residual"].values[lag:],
        color="k",
        label=f"cell state (lagged {lag - half} d)",
    )
    b2 = b.twinx()
    b2.plot(
        t[: n - lag],
        ds["temperature_residual"].values[: n - lag],
        color="tab:blue",
        label=f"T (leading {half} d)",
    )
    b.set_ylabel("state residual")
    b2.set_ylabel("T residual (K)", color="tab:blue")
    b.set_title(
        f"(b) residuals from the 30-day centred mean, {lag}-day lag, "
        f"r = {ds.attrs['best_lag_correlation']:.2f}"
    )
    b.legend(loc="upper left", fontsize=8)
    b2.legend(loc="upper right", fontsize=8)
    c = axes[2]
    r = ds["rolling_correlation"]
    c.plot(ds["window_start"].values, r, color="k")
    melt = ds["melt_season"].values
    ws = ds["window_start"].values
    if melt.any():
        c.axvspan(
            ws[np.flatnonzero(melt)[0]],
            ws[np.flatnonzero(melt)[-1]],
            color="#DC3D4B",
            alpha=0.15,
            label="melt-season starts",
        )
    c.set_ylabel("rolling correlation")
    c.set_xlabel("window start")
    c.set_title(
        f"(c) 60-day rolling correlation: melt season "
        f"{ds.attrs['melt_season_mean_correlation']:.2f}, other "
        f"{ds.attrs['other_mean_correlation']:.2f}"
    )
    c.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return save_figure(fig, path)
