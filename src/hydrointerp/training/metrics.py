"""Per-station skill scores (NaN-aware) and the metrics table (METHODS.md section 4).

All functions take labelled ``obs(time, station)`` and ``pred(..., time, station)`` and ignore the
days where either is missing. NSE is invariant to per-station affine scaling, so normalised units
are fine for it (as published); KGE's bias ratio ``beta`` needs physical units (m3/s), since
normalised flows have means near zero.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from hydrointerp.atomic import write_netcdf, write_text


def _paired(obs: xr.DataArray, pred: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    obs, pred = xr.align(obs, pred, join="inner")
    ok = obs.notnull() & pred.notnull()
    return obs.where(ok), pred.where(ok)


def nse(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Nash-Sutcliffe efficiency ``1 - sum((p - o)^2) / sum((o - mean(o))^2)`` along ``dim``."""
    o, p = _paired(obs, pred, dim)
    num = ((p - o) ** 2).sum(dim, min_count=1)
    den = ((o - o.mean(dim)) ** 2).sum(dim, min_count=1)
    return (1 - num / den).rename("nse")


def pearson_r(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Pearson correlation along ``dim`` over the days both are present."""
    o, p = _paired(obs, pred, dim)
    do, dp = o - o.mean(dim), p - p.mean(dim)
    cov = (do * dp).sum(dim, min_count=2)
    return (cov / np.sqrt((do**2).sum(dim, min_count=2) * (dp**2).sum(dim, min_count=2))).rename(
        "r"
    )


def bias(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Mean error ``mean(pred - obs)`` (units of the data)."""
    o, p = _paired(obs, pred, dim)
    return (p - o).mean(dim).rename("bias")


def kge(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.Dataset:
    """Kling-Gupta efficiency (Gupta et al. 2009) and its components.

    ``KGE = 1 - sqrt((r - 1)^2 + (alpha - 1)^2 + (beta - 1)^2)`` with ``alpha = std(p)/std(o)``
    (population std) and ``beta = mean(p)/mean(o)``.
    """
    o, p = _paired(obs, pred, dim)
    r = pearson_r(o, p, dim)
    alpha = (p.std(dim) / o.std(dim)).rename("alpha")
    beta = (p.mean(dim) / o.mean(dim)).rename("beta")
    score = (1 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)).rename("kge")
    return xr.Dataset({"kge": score, "kge_r": r, "kge_alpha": alpha, "kge_beta": beta})


def metrics_table(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.Dataset:
    """Per-station NSE, KGE (+ r, alpha, beta), bias and Pearson r.

    If ``pred`` has a ``member`` dimension the scores are those of the ensemble mean (the
    published headline "ensemble NSE"), and ``nse_member(member, station)`` holds each member's.
    """
    mean = pred.mean("member") if "member" in pred.dims else pred
    ds = kge(obs, mean, dim)
    ds["nse"] = nse(obs, mean, dim)
    ds["bias"] = bias(obs, mean, dim)
    ds["r"] = pearson_r(obs, mean, dim)
    ds["n_days"] = (obs.notnull() & mean.notnull()).sum(dim).rename("n_days")
    if "member" in pred.dims:
        ds["nse_member"] = nse(obs, pred, dim)
    ds = ds[
        [
            "nse",
            "kge",
            "kge_r",
            "kge_alpha",
            "kge_beta",
            "bias",
            "r",
            "n_days",
            *(["nse_member"] if "member" in pred.dims else []),
        ]
    ]
    units = obs.attrs.get("units", "as obs")
    long = {
        "nse": "Nash-Sutcliffe efficiency of the ensemble mean",
        "kge": "Kling-Gupta eff.",
        "kge_r": "KGE correlation",
        "kge_alpha": "KGE variability ratio",
        "kge_beta": "KGE bias ratio",
        "bias": "mean error (pred - obs)",
        "r": "Pearson correlation",
        "n_days": "days with obs and pred",
        "nse_member": "NSE of each member",
    }
    for name, text in long.items():
        if name in ds:
            ds[name].attrs = {"long_name": text, "units": units if name == "bias" else "1"}
    return ds


def summary(table: xr.Dataset) -> dict[str, float]:
    """Median NSE/KGE and the share of stations with NSE above 0.8 (the HESS headline)."""
    n = table["nse"].values
    return {
        "median_nse": float(np.nanmedian(n)),
        "median_kge": float(np.nanmedian(table["kge"].values)),
        "share_nse_above_0.8": float(np.nanmean(n > 0.8)),
        "n_stations": int(np.isfinite(n).sum()),
    }


def write_metrics(table: xr.Dataset, stem: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` (one row per station) and ``<stem>.nc`` (atomic)."""
    stem = Path(stem)
    per_station = table.drop_vars([v for v in table.data_vars if "member" in table[v].dims])
    df = per_station.to_dataframe()
    keep = [c for c in df.columns if c in per_station.data_vars]
    csv = write_text(stem.with_suffix(".csv"), df[keep].to_csv(index_label="station_id"))
    nc = write_netcdf(table, stem.with_suffix(".nc"))
    return csv, nc
