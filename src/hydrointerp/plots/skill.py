"""The hydrologist's skill figures: NSE CDF across gauges, and the hydrographs and flow-duration
curves of the best, median and worst gauges. Each function writes one PNG atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hydrointerp.plots.save import save_figure


def plot_nse_cdf(
    nse: Mapping[str, xr.DataArray], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Empirical CDF of per-gauge NSE, one line per model (the usual large-sample figure).

    NSE below -1 is drawn at the left edge (clipped), so a few very poor gauges do not squash
    the range where models differ.
    """
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, values in nse.items():
        v = np.sort(values.values[np.isfinite(values.values)])
        if v.size == 0:
            continue
        p = np.arange(1, v.size + 1) / v.size
        ax.step(np.clip(v, -1, 1), p, where="post", label=f"{label} (median {np.median(v):.2f})")
    ax.set_xlim(-1, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("NSE (test period; values below -1 drawn at -1)")
    ax.set_ylabel("share of gauges with NSE <= x")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title or "NSE across gauges")
    return save_figure(fig, path, dpi=130)


def ranked_gauges(nse: xr.DataArray) -> dict[str, str]:
    """The ``best``, ``median`` and ``worst`` gauge by NSE (ties: first in station order)."""
    ok = nse.where(np.isfinite(nse), drop=True)
    if ok.sizes.get("station", 0) == 0:
        raise ValueError("no gauge has a finite NSE")
    order = np.argsort(ok.values, kind="stable")
    ids = ok["station"].values
    return {
        "best": str(ids[order[-1]]),
        "median": str(ids[order[(order.size - 1) // 2]]),
        "worst": str(ids[order[0]]),
    }


def plot_gauge_panels(
    obs: xr.DataArray,
    sims: Mapping[str, xr.DataArray],
    nse: xr.DataArray,
    path: str | os.PathLike[str],
) -> Path:
    """Hydrograph and flow-duration curve of the best, median and worst gauge by ``nse``.

    ``obs(time, station)`` and each ``sims[label](time, station)`` share units (m3/s when the
    run has physical flows); the flow-duration curves use a log axis when every flow is
    positive.
    """
    picks = ranked_gauges(nse)
    units = obs.attrs.get("units", "1")
    fig, axes = plt.subplots(3, 2, figsize=(11, 8), gridspec_kw={"width_ratios": [2.2, 1]})
    for row, (rank, st) in enumerate(picks.items()):
        o = obs.sel(station=st)
        ax, fdc = axes[row]
        ax.plot(o["time"].values, o.values, color="k", lw=1.0, label="observed")
        series = {"observed": o.values}
        for label, sim in sims.items():
            s = sim.sel(station=st)
            ax.plot(s["time"].values, s.values, lw=0.9, label=label)
            series[label] = np.where(np.isfinite(o.values), s.values, np.nan)
        ax.set_title(f"{rank} gauge {st}: NSE {float(nse.sel(station=st)):.2f}", fontsize=9)
        ax.set_ylabel(f"discharge ({units})")
        positive = True
        for label, v in series.items():
            v = np.sort(v[np.isfinite(v)])[::-1]
            positive &= bool(v.size and v.min() > 0)
            exceed = np.arange(1, v.size + 1) / (v.size + 1)
            fdc.plot(exceed, v, color="k" if label == "observed" else None, lw=1.0, label=label)
        if positive:
            fdc.set_yscale("log")
        fdc.set_xlabel("exceedance probability")
        fdc.set_title("flow-duration curve", fontsize=9)
        if row == 0:
            ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=130)
