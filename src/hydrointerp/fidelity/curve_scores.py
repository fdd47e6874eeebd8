"""Scorers of the curve experiments: Experiment 2's channel curves, Experiment 3's driver
composites, and the warming and August slopes."""

from __future__ import annotations

import numpy as np
import xarray as xr

from hydrointerp.experiments.curves import minmax, rise_day
from hydrointerp.fidelity import explainers as ex
from hydrointerp.fidelity import metrics as mt
from hydrointerp.fidelity.bundle import Bundle, is_converged, rows_for
from hydrointerp.fidelity.skill import ScoreRow


def _group_mean(ds: xr.Dataset, var: str) -> xr.DataArray:
    per = ds[f"{var}_station"]
    g = ds["station_group"]
    return per.groupby(g.rename("group")).mean("station")


def log_tp_ratio(ds: xr.Dataset) -> xr.DataArray:
    """``log(mean S_T / mean S_P)`` per group over the year (unscaled station curves)."""
    st = _group_mean(ds, "s_temperature").mean("time")
    sp = _group_mean(ds, "s_precipitation").mean("time")
    return np.log(st / sp).rename("log_tp_ratio")


def log_tp_curve(ds: xr.Dataset, days: int = 15) -> xr.DataArray:
    """Smoothed ``log(S_T(t) / S_P(t))`` per group: when in the year which variable matters."""
    st = _group_mean(ds, "s_temperature")
    sp = _group_mean(ds, "s_precipitation")
    tiny = 1e-12
    r = np.log((st + tiny) / (sp + tiny))
    return r.rolling(time=min(days, r.sizes["time"]), center=True, min_periods=1).mean()


def august_cosine(curve: xr.DataArray) -> xr.DataArray:
    """A seasonal prior: a cosine over the year peaking on 1 August, for every group."""
    doy = curve["time"].dt.day_of_year
    return (xr.zeros_like(curve) + np.cos(2 * np.pi * (doy - 213) / 365.25)).transpose(*curve.dims)


def score_channels(b: Bundle) -> list[ScoreRow]:
    """Experiment 2: the T/P importance ratio per group (the quantity the experiment is about),
    its seasonal course and the day the temperature importance rises."""
    if b.truth is None:
        return []
    rows: list[ScoreRow] = []
    t = b.truth
    sim_b = b.controls.get("simulator_b")
    t_ratio, t_curve = log_tp_ratio(t), log_tp_curve(t)
    for method, ds in b.model.items():
        ctl = b.controls_of(method)
        unt = ctl.get("random_all")
        draws = [ds] + ([ctl["model_b"]] if "model_b" in ctl else [])
        ratio_base = {
            "equal_importance": xr.zeros_like(t_ratio),
            "regime_prior": ex.leave_one_out_prior(t_ratio, t["group_regime"], "group"),
        }
        if unt is not None:
            ratio_base["untrained"] = log_tp_ratio(unt)
        rows += rows_for(
            b,
            b.name,
            method,
            "simulator",
            [log_tp_ratio(d) for d in draws],
            ratio_base,
            log_tp_ratio(sim_b) if sim_b is not None else None,
            {},
            lambda x: mt.absolute_error(x, t_ratio),
            "log_tp_ratio_error",
            "group",
            False,
            "1",
            is_converged(ds),
        )
        curve = log_tp_curve(ds)
        curve_base = {
            "august_cosine": august_cosine(curve),
            "lag_shifted": ex.lag_shifted(curve, max(1, curve.sizes["time"] // 4)),
            "other_group": ex.other_station(curve, "group"),
        }
        if unt is not None:
            curve_base["untrained"] = log_tp_curve(unt)
        rows += rows_for(
            b,
            b.name,
            method,
            "simulator",
            [log_tp_curve(d) for d in draws],
            curve_base,
            log_tp_curve(sim_b) if sim_b is not None else None,
            {},
            lambda x: mt.pearson(x, t_curve, "time"),
            "log_tp_seasonal_pearson",
            "group",
            True,
            "1",
            is_converged(ds),
        )
        for var in ("s_temperature", "s_precipitation"):
            t_rise = rise_doy(t[var])
            curves = ds[var]
            rise_base = {
                "august_cosine": rise_doy(minmax(august_cosine(curves))),
                "lag_shifted": rise_doy(ex.lag_shifted(curves, max(1, curves.sizes["time"] // 4))),
                "other_group": rise_doy(ex.other_station(curves, "group")),
            }
            if unt is not None:
                rise_base["untrained"] = rise_doy(unt[var])
            rows += rows_for(
                b,
                b.name,
                method,
                "simulator",
                [rise_doy(d[var]) for d in draws],
                rise_base,
                rise_doy(sim_b[var]) if sim_b is not None else None,
                {},
                lambda x, t_rise=t_rise: mt.absolute_error(x, t_rise),
                f"{var}_rise_day_error",
                "group",
                False,
                "day",
                is_converged(ds),
            )
    return rows


def rise_doy(curves: xr.DataArray, level: float = 0.5) -> xr.DataArray:
    """Day of year on which each scaled curve first reaches ``level`` (the timing of the
    importance rise Experiment 2 reads, :func:`~hydrointerp.experiments.channels.rise_day`);
    NaN if it never does."""
    first = rise_day(curves, level)
    doy = curves["time"].dt.day_of_year.values[first.values.clip(min=0)]
    return first.copy(data=doy.astype(float)).where(first >= 0).rename("rise_day")


# ------------------------------------------------------------------------------ Experiment 3
def score_drivers(b: Bundle) -> list[ScoreRow]:
    """Experiment 3: magnitude-weighted sign agreement on the truth's significant entries."""
    if b.truth is None:
        return []
    t = b.truth
    sig = t["p_value"] < 0.05
    dims = ["season", "variable", "lag"]

    def agree(x: xr.DataArray) -> xr.DataArray:
        return mt.weighted_sign_agreement(x, t["anomaly"], sig, dims)

    rows: list[ScoreRow] = []
    for method, ds in b.model.items():
        base = {
            "regime_prior": ex.leave_one_out_prior(t["anomaly"], t["regime"], "station"),
            "other_station": ex.other_station(ds["anomaly"], "station"),
            "all_positive": xr.ones_like(ds["anomaly"]),
        }
        if "random_all" in b.controls:
            base["untrained"] = b.controls["random_all"]["anomaly"]
        rows += rows_for(
            b,
            b.name,
            method,
            "simulator",
            [ds["anomaly"]],
            base,
            t["anomaly"],
            {},
            agree,
            "weighted_sign_agreement",
            "station",
            True,
            "1",
            True,
        )
    return rows


# ------------------------------------------------------------------------------ warming, August
def _slope_rows(b: Bundle, var: str, unit_dim: str, units: str, prior_by: str | None) -> list:
    t = b.truth[var]  # type: ignore[index]
    base: dict[str, xr.DataArray] = {"no_response": xr.zeros_like(t)}
    if prior_by is not None and prior_by in b.truth:  # type: ignore[operator]
        base["prior"] = ex.leave_one_out_prior(t, b.truth[prior_by], unit_dim)  # type: ignore[index]
    else:
        base["prior"] = ex.leave_one_out_prior(t, xr.zeros_like(t, dtype=int), unit_dim)
    if "random_all" in b.controls:
        base["untrained"] = b.controls["random_all"][var]
    rows: list[ScoreRow] = []
    for method, ds in b.model.items():
        rows += rows_for(
            b,
            b.name,
            method,
            "simulator",
            [ds[var]],
            base,
            t,
            {},
            lambda x, t=t: mt.absolute_error(x, t),
            f"{var}_error",
            unit_dim,
            False,
            units,
            True,
        )
    return rows


def score_warming(b: Bundle) -> list[ScoreRow]:
    """Warming/cooling: error of the freshet-timing slopes (days per K) per cluster against the
    simulator's own counterfactual response."""
    if b.truth is None:
        return []
    rows: list[ScoreRow] = []
    for var in ("freshet_day_slope", "peak_day_slope"):
        if var in b.truth:
            rows += _slope_rows(b, var, "cluster", "day K-1", None)
    return rows


def score_august(b: Bundle) -> list[ScoreRow]:
    """August test: error of each station's dQ/dT against the simulator's, with the glacier-
    class prior (the other stations of the same glacier class) as a baseline."""
    if b.truth is None:
        return []
    return _slope_rows(b, "slope", "station", "K-1", "glacier_class")


# ------------------------------------------------------------------------------ Experiment 4
