"""Per-station skill scores (NaN-aware) and the metrics table (METHODS.md section 4).

All functions take labelled ``obs(time, station)`` and ``pred(..., time, station)`` and ignore the
days where either is missing. :func:`suite` is neuralhydrology 1.13's standard suite (NSE, MSE,
RMSE, KGE and its components, alpha-/beta-NSE, beta-KGE, Pearson r, FHV, FLV, FMS, peak timing,
missed peaks, peak MAPE) with its definitions and defaults; the FDC and peak metrics are in
:mod:`hydrointerp.training.signatures`. NSE and r are invariant to per-station affine scaling, so
normalised units are fine for them (as published); the metrics in :data:`PHYSICAL` (KGE's bias
ratio, beta-NSE, FDC biases, errors) need physical units (m3/s), since normalised flows have
means near zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hydrointerp.atomic import write_netcdf, write_text
from hydrointerp.training import signatures as sig


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


#: every metric of the suite: name -> (long name, units rule); "flow" = the units of the flows,
#: "flow2" = their square, anything else literally (neuralhydrology 1.13 names in brackets).
#: KGE's three components are ``r``, ``alpha_nse`` and ``beta_kge``.
SUITE: dict[str, tuple[str, str]] = {
    "nse": ("Nash-Sutcliffe efficiency [NSE]", "1"),
    "kge": ("Kling-Gupta efficiency [KGE]", "1"),
    "mse": ("mean squared error [MSE]", "flow2"),
    "rmse": ("root mean squared error [RMSE]", "flow"),
    "alpha_nse": ("std(sim)/std(obs) [Alpha-NSE]", "1"),
    "beta_nse": ("(mean(sim) - mean(obs))/std(obs) [Beta-NSE]", "1"),
    "beta_kge": ("mean(sim)/mean(obs) [Beta-KGE]", "1"),
    "r": ("Pearson correlation [Pearson-r]", "1"),
    "bias": ("mean error (sim - obs)", "flow"),
    "fhv": ("high-flow bias of the flow-duration curve, top 2 % [FHV]", "%"),
    "flv": ("low-flow bias of the flow-duration curve, bottom 30 % [FLV]", "%"),
    "fms": ("bias of the flow-duration curve's mid-segment slope, 0.2-0.7 [FMS]", "%"),
    "peak_timing": ("mean absolute peak timing error [Peak-Timing]", "d"),
    "missed_peaks": ("share of observed peaks missed [Missed-Peaks]", "1"),
    "peak_mape": ("mean absolute percentage error on the observed peaks [Peak-MAPE]", "%"),
    "n_days": ("days with obs and sim", "1"),
}

#: metrics that depend on the flows' offset and scale: meaningful only in physical units
PHYSICAL = ("mse", "rmse", "kge", "beta_kge", "beta_nse", "bias", "fhv", "flv", "fms", "peak_mape")


def _units(rule: str, flow_units: str) -> str:
    if rule == "flow":
        return flow_units
    if rule == "flow2":
        return {"1": "1", "m3 s-1": "m6 s-2"}.get(flow_units, f"({flow_units})^2")
    return rule


def _per_series(
    func: Any, obs: xr.DataArray, pred: xr.DataArray, dim: str, with_days: bool
) -> xr.DataArray:
    """Map a 1-D ``signatures`` function over every station (and member) of ``pred``."""
    o, p = xr.align(obs, pred, join="inner")
    args = [o, p]
    core = [[dim], [dim]]
    if with_days:
        args.append(_day_numbers(o[dim]))
        core.append([dim])
    out = xr.apply_ufunc(
        func, *args, input_core_dims=core, vectorize=True, output_dtypes=[np.float64]
    )
    return out.transpose(*[d for d in p.dims if d != dim])


def _day_numbers(time: xr.DataArray) -> xr.DataArray:
    """Days since the first sample (time coordinates) or the sample index (anything else)."""
    if np.issubdtype(time.dtype, np.datetime64):
        days = (time.values - time.values[0]) / np.timedelta64(1, "D")
    else:
        days = np.asarray(time.values, dtype=np.float64)
    return xr.DataArray(days, dims=time.dims, coords={time.dims[0]: time.values})


def suite(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.Dataset:
    """Every metric of :data:`SUITE` per station (and per any extra dim of ``pred``, e.g. member).

    Definitions and defaults are those of neuralhydrology 1.13's ``evaluation.metrics``
    (NaN-aware: each score uses the days where both series are present). Units follow
    ``obs.attrs["units"]`` (``"1"`` when absent, e.g. normalised flows).
    """
    o, p = _paired(obs, pred, dim)
    parts = kge(o, p, dim)
    ds = xr.Dataset({"kge": parts["kge"], "nse": nse(o, p, dim)})
    ds["mse"] = ((p - o) ** 2).mean(dim)
    ds["rmse"] = np.sqrt(ds["mse"])
    ds["alpha_nse"] = parts["kge_alpha"]
    ds["beta_kge"] = parts["kge_beta"]
    ds["beta_nse"] = (p.mean(dim) - o.mean(dim)) / o.std(dim)
    ds["r"] = parts["kge_r"]
    ds["bias"] = bias(o, p, dim)
    for name, func, days in (
        ("fhv", sig.fhv, False),
        ("flv", sig.flv, False),
        ("fms", sig.fms, False),
        ("peak_timing", sig.peak_timing, True),
        ("missed_peaks", sig.missed_peaks, True),
        ("peak_mape", sig.peak_mape, False),
    ):
        ds[name] = _per_series(func, o, p, dim, days)
    ds["n_days"] = (o.notnull() & p.notnull()).sum(dim)
    flow_units = str(obs.attrs.get("units", "1"))
    ds = ds[list(SUITE)].transpose(*[d for d in pred.dims if d != dim])
    for name, (text, rule) in SUITE.items():
        ds[name] = ds[name].rename(name)
        ds[name].attrs = {"long_name": text, "units": _units(rule, flow_units)}
    ds.attrs.update(
        definitions="neuralhydrology 1.13 evaluation.metrics (defaults)",
        flow_units=flow_units,
    )
    return ds


def metrics_table(obs: xr.DataArray, pred: xr.DataArray, dim: str = "time") -> xr.Dataset:
    """The :func:`suite` of the ensemble mean per station, and of each member.

    If ``pred`` has a ``member`` dimension the plain variables score the ensemble mean (the
    published headline "ensemble NSE") and ``<metric>_member(member, station)`` each member.
    """
    mean = pred.mean("member") if "member" in pred.dims else pred
    ds = suite(obs, mean, dim)
    if "member" in pred.dims:
        members = suite(obs, pred, dim)
        for name in SUITE:
            if name != "n_days":
                ds[f"{name}_member"] = members[name].rename(f"{name}_member")
                ds[f"{name}_member"].attrs["long_name"] += " of each member"
    return ds


def physical_skill(obs: xr.DataArray, pred: xr.DataArray, norm: Any | None) -> xr.Dataset:
    """:func:`metrics_table` of normalised flows, computed in m3/s.

    ``norm`` (a :class:`~hydrointerp.data.windows.Normaliser`) de-normalises both with each
    station's training mean and std first. Without one, or with an identity normaliser
    (already-normalised inputs such as the published mini year), there are no physical units to
    return to, so the metrics of :data:`PHYSICAL` are left out rather than reported on
    normalised flows.
    """
    normalised = norm is None or norm.identity
    if not normalised:
        obs, pred = norm.inverse_flow(obs), norm.inverse_flow(pred)
    scores = metrics_table(obs.astype(np.float64), pred.astype(np.float64))
    if normalised:
        drop = [v for v in scores.data_vars if v.removesuffix("_member") in PHYSICAL]
        scores = scores.drop_vars(drop)
        scores.attrs["flow_units"] = "1 (normalised; metrics needing m3/s left out)"
    return scores


def column_name(metric: str, kind: str, units: str) -> str:
    """A skill-table column: ``<metric>_<kind>``, then `` [units]`` unless dimensionless."""
    return f"{metric}_{kind}" if units == "1" else f"{metric}_{kind} [{units}]"


def split_column(column: str) -> tuple[str, str, str]:
    """Inverse of :func:`column_name`: ``(metric, kind, units)``.

    Raises
    ------
    ValueError
        When the column is not ``<metric>_<kind>[ [units]]`` with a metric of :data:`SUITE`.
    """
    head, _, rest = column.partition(" [")
    units = rest.removesuffix("]") if rest else "1"
    for metric in sorted(SUITE, key=len, reverse=True):
        if head.startswith(metric + "_"):
            return metric, head.removeprefix(metric + "_"), units
    raise ValueError(f"not a skill column <metric>_<kind> [units]: {column!r}")


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
