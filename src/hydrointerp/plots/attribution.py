"""Where in the look-back window the attribution mass sits: ``attribution_by_lag`` per channel.

A recurrent model started from a zero state at the window start can put spurious attribution on
the first window days (the state transient), or almost none on them (forgetting); this figure
shows which, and how much of the mass lies in the oldest days.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.plots.save import save_figure


def lag_shares(by_lag: xr.DataArray) -> xr.DataArray:
    """Share of each channel's attribution mass per lag, ``(lag, channel)``: ``|by_lag|``
    averaged over stations and target days, divided by its sum over lags."""
    mass = np.abs(by_lag).mean(("station", "time"))
    total = mass.sum("lag")
    return (mass / total.where(total > 0)).fillna(0.0).rename("lag_share")


def plot_attribution_by_lag(
    by_lag: xr.DataArray, path: str | os.PathLike[str], oldest_days: int = 30
) -> Path:
    """Share of the attribution mass per look-back day (log scale), one line per channel.

    The legend gives each channel's share in the ``oldest_days`` oldest days of the window.
    """
    shares = lag_shares(by_lag)
    lags = shares["lag"].values
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for ch in shares["channel"].values:
        s = shares.sel(channel=ch)
        old = float(s.where(s["lag"] > lags.max() - oldest_days).sum())
        ax.plot(
            lags, np.maximum(s.values, 1e-12), label=f"{ch} (oldest {oldest_days} d: {old:.1%})"
        )
    ax.set_yscale("log")
    ax.set_xlabel("lag (days before the target day)")
    ax.set_ylabel("share of attribution mass")
    ax.axvspan(lags.max() - oldest_days + 0.5, lags.max() + 0.5, color="0.9", zorder=0)
    ax.set_title(f"Attribution by lag ({by_lag.attrs.get('method', by_lag.name)})")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
