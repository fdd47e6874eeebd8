"""Seasonal curves of the experiments: smoothing, min-max scaling, the day a curve rises.

Experiment 1 smooths its daily diagnostics and Experiment 2 its channel curves with the same
edge-padded moving mean; Experiment 2 and its fidelity score read the same rise day;
Experiment 4 and its probe take the same residuals from a centred rolling mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


def smooth_edge(da: xr.DataArray, days: int, dim: str = "time") -> xr.DataArray:
    """Centred moving mean over ``days`` with edge padding (no days lost)."""
    if days <= 1:
        return da
    half = days // 2
    padded = da.pad({dim: (half, days - 1 - half)}, mode="edge")
    out = padded.rolling({dim: days}, center=False).mean().isel({dim: slice(days - 1, None)})
    return out.assign_coords({dim: da[dim]})


def minmax(da: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Scale each curve to [0, 1] along ``dim`` (a constant curve becomes 0)."""
    lo, hi = da.min(dim), da.max(dim)
    return ((da - lo) / (hi - lo).where(hi > lo)).fillna(0.0)


def rise_day(curves: xr.DataArray, level: float = 0.5) -> xr.DataArray:
    """Index of the first day each scaled curve reaches ``level`` (-1 if it never does).

    Compares the spring rise of ``s_temperature`` and ``s_precipitation``: "temperature leads
    precipitation" means S_T rises first.
    """
    reached = curves >= level
    first = reached.argmax("time").where(reached.any("time"), -1)
    return first.rename(f"rise_day_{level:g}")


def residual(series: np.ndarray, window: int = 30) -> np.ndarray:
    """Series minus its centred rolling mean (``min_periods=1``)."""
    s = pd.Series(np.asarray(series, float))
    return (s - s.rolling(window, center=True, min_periods=1).mean()).to_numpy()
