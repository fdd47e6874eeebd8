"""Scorers of the map experiments: the heat map (overall and per regime) and Experiment 1."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import xarray as xr

from hydrointerp.fidelity import explainers as ex
from hydrointerp.fidelity import metrics as mt
from hydrointerp.fidelity.bundle import (
    RANDOMISED,
    Bundle,
    is_converged,
    rows_for,
    truth_sensitivity,
)
from hydrointerp.fidelity.skill import ScoreRow, reference_row


def _map_metrics(
    truth_name: str, truth: xr.DataArray, basin: xr.DataArray
) -> dict[str, Callable[[xr.DataArray], xr.DataArray]]:
    """The metrics scored against each truth: map correlations against the simulator's map
    or the exact contributions; basin detection, centroid and relevance mass against the
    basin itself (``truth`` there is the simulator's map, the mass's ceiling)."""
    if truth_name == "basin":
        return {
            "detection_auc": lambda m: mt.detection_auc(m, basin > 0),
            "centroid_distance": lambda m: mt.centroid_distance(m, basin),
            "relevance_mass": lambda m: mt.relevance_mass(m, basin, truth),
        }
    return {
        "support_pearson": lambda m: mt.support_pearson(m, truth),
        "support_spearman": lambda m: mt.support_spearman(m, truth),
    }


def map_baselines(
    maps: xr.DataArray,
    b: Bundle,
    key: str = "sensitivity",
    dim: str = "station",
    method: str = "perturbation",
) -> dict[str, xr.DataArray]:
    """The trivial explainers a map must beat (broken maps, same-mask random, untrained)."""
    out = {
        "shuffled": ex.shuffled(maps),
        "constant": ex.constant(maps),
        "distance_to_centre": ex.distance_to_centre(maps),
        "other_station": ex.other_station(maps, dim),
    }
    if b.masks is not None and dim == "station":
        out["same_mask_random"] = ex.same_mask_random(b.masks, maps)
    untrained = b.controls_of(method).get("random_all")
    if untrained is not None:
        out["untrained"] = untrained[key]
    return out


def score_heat_map(b: Bundle) -> list[ScoreRow]:
    """HESS heat maps: every method against the simulator's independent perturbation map, the
    basin, and the exact contribution truth (time-mean |contribution|); then the published
    method per regime (``heat_map[<regime>]``, regimes with at least 3 stations)."""
    if b.region is None:
        return []
    rows = _heat_rows(b, b.name, tuple(b.model))
    if "regime" in b.region and "perturbation" in b.model:
        stations = b.model["perturbation"]["station"].values
        regime = b.region["regime"].sel(station=stations).values.astype(str)
        for name in sorted(set(regime)):
            pick = stations[regime == name]
            if pick.size >= 3:
                rows += _heat_rows(_subset(b, pick), f"{b.name}[{name}]", ("perturbation",))
    return rows + _agreement_rows(b)


def _subset(b: Bundle, stations: np.ndarray) -> Bundle:
    def sel(ds: xr.Dataset | None) -> xr.Dataset | None:
        return None if ds is None else ds.sel(station=stations)

    return dataclasses.replace(
        b,
        model={k: sel(v) for k, v in b.model.items()},
        truth=sel(b.truth),
        controls={k: sel(v) for k, v in b.controls.items()},
        contribution=sel(b.contribution),
    )


def _heat_rows(b: Bundle, experiment: str, methods: tuple[str, ...]) -> list[ScoreRow]:
    rows: list[ScoreRow] = []
    stations = next(iter(b.model.values()))["station"].values
    basin = b.region["basin_mask"].sel(station=stations)  # type: ignore[index]
    truths: list[tuple[str, xr.DataArray, xr.DataArray | None]] = []
    if b.truth is not None:
        sim_b = b.controls.get("simulator_b")
        truth_map = truth_sensitivity(b.truth)
        truths.append(("simulator", truth_map, truth_sensitivity(sim_b) if sim_b else None))
        truths.append(("basin", truth_map, truth_sensitivity(sim_b) if sim_b else truth_map))
    if b.contribution is not None:
        mag = b.contribution["contribution_magnitude"].sel(station=stations)
        truths.append(("contribution", mag, mag))  # exact: the truth is its own ceiling
    for _, truth, _ in truths:
        mt.check_same_grid(next(iter(b.model.values()))["sensitivity"], truth, b.name)
    for method in methods:  # the method's draws, controls and baselines serve every truth
        ds = b.model[method]
        maps = ds["sensitivity"]
        ctl = b.controls_of(method)
        draws = [maps] + ([ctl["model_b"]["sensitivity"]] if "model_b" in ctl else [])
        randomised = {k: ctl[k]["sensitivity"] for k in RANDOMISED if k in ctl}
        base = map_baselines(maps, b, method=method)
        converged = is_converged(ds)
        for truth_name, truth, ceiling in truths:
            for name, fn in _map_metrics(truth_name, truth, basin).items():
                info = mt.MAP_METRICS[name]
                rows += rows_for(
                    b,
                    experiment,
                    method,
                    truth_name,
                    draws,
                    base,
                    ceiling,
                    randomised,
                    fn,
                    name,
                    "station",
                    info.higher_is_better,
                    info.units,
                    converged,
                )
    return rows


def _agreement_rows(b: Bundle) -> list[ScoreRow]:
    """The two reference levels: noise ceiling (simulator vs independent simulator) and the
    network's self-agreement (network vs network with independent masks), full-grid Spearman."""
    out = []
    pairs = []
    if b.truth is not None and "simulator_b" in b.controls:
        pairs.append(
            (
                "noise_ceiling",
                truth_sensitivity(b.controls["simulator_b"]),
                truth_sensitivity(b.truth),
            )
        )
    if "perturbation" in b.model and "model_b" in b.controls:
        pairs.append(
            (
                "self_agreement",
                b.controls["model_b"]["sensitivity"],
                b.model["perturbation"]["sensitivity"],
            )
        )
    for name, a, t in pairs:
        r = mt.support_spearman(a, t, rel_floor=-1.0, halo=0)  # every pixel
        out.append(reference_row(b.name, name, "grid_spearman", "itself", r, "station"))
    if b.truth is not None and b.contribution is not None:
        # what the perturbation method reaches on a perfect model: its ceiling on this truth
        mag = b.contribution["contribution_magnitude"]
        for name in ("support_pearson", "support_spearman"):
            r = getattr(mt, name)(truth_sensitivity(b.truth), mag)
            out.append(
                reference_row(b.name, "method_on_simulator", name, "contribution", r, "station")
            )
    return out


# ------------------------------------------------------------------------------ Experiment 1
def daily_anomaly(maps: xr.DataArray) -> xr.DataArray:
    """Each day's map minus the time-mean map (float64: a repeated map gives exactly 0)."""
    m = maps.astype(np.float64)
    return m - m.mean("time")


def score_daily(b: Bundle) -> list[ScoreRow]:
    """Experiment 1: daily map *anomalies* (what changes from day to day), the high/low-flow
    day labels and the two pattern maps, against the simulator's."""
    if b.truth is None:
        return []
    rows: list[ScoreRow] = []
    t_maps = b.truth["sensitivity"]
    t_anom = daily_anomaly(t_maps)
    sim_b = b.controls.get("simulator_b")

    def anomaly_corr(m: xr.DataArray) -> xr.DataArray:
        r = mt.support_pearson(daily_anomaly(m), t_anom.where(t_maps > 0, 0.0), halo=2)
        return r.transpose("cluster", "time")

    for method, ds in b.model.items():
        maps = ds["sensitivity"]
        ctl = b.controls_of(method)
        draws = [maps] + ([ctl["model_b"]["sensitivity"]] if "model_b" in ctl else [])
        base = {
            "time_mean": ex.time_mean(maps),
            "lag_shifted": ex.lag_shifted(maps, max(1, maps.sizes["time"] // 4)),
            "shuffled": ex.shuffled(maps),
            "other_cluster": ex.other_station(maps, "cluster"),
        }
        if "random_all" in ctl:
            base["untrained"] = ctl["random_all"]["sensitivity"]
        randomised = {k: ctl[k]["sensitivity"] for k in RANDOMISED if k in ctl}
        ceiling = sim_b["sensitivity"] if sim_b is not None else None
        rows += rows_for(
            b,
            b.name,
            method,
            "simulator",
            draws,
            base,
            ceiling,
            randomised,
            anomaly_corr,
            "daily_anomaly_pearson",
            "time",  # units: target days (the score of a day is its clusters' mean)
            True,
            "1",
            is_converged(ds),
        )
        rows += _pattern_rows(b, method, ds)
    return rows


def cohen_kappa(a: xr.DataArray, t: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Cohen's kappa of two binary label series along ``dim`` (0 = chance agreement)."""
    a, t = mt._paired(a, t)
    a1, t1 = (a == 1).astype(float), (t == 1).astype(float)
    po = (a1 == t1).mean(dim)
    pe = a1.mean(dim) * t1.mean(dim) + (1 - a1.mean(dim)) * (1 - t1.mean(dim))
    return ((po - pe) / (1 - pe).where(pe < 1)).fillna(0.0).rename("kappa")


def seasonal_label_prior(
    labels: xr.DataArray, months: tuple[int, ...] = (5, 6, 7, 8, 9)
) -> xr.DataArray:
    """Station-blind prior: the high-flow pattern on the days of ``months`` (May-Sep)."""
    month = labels["time"].dt.month
    return (xr.zeros_like(labels) + month.isin(months)).astype(int).transpose(*labels.dims)


def _pattern_rows(b: Bundle, method: str, ds: xr.Dataset) -> list[ScoreRow]:
    t = b.truth
    rows: list[ScoreRow] = []
    if "pattern" not in ds or t is None or "pattern" not in t:
        return rows
    lab = ds["pattern"]
    base = {
        "seasonal_prior": seasonal_label_prior(lab),
        "lag_shifted": ex.lag_shifted(lab, max(1, lab.sizes["time"] // 4)),
        "constant": xr.ones_like(lab),
    }
    untrained = b.controls_of(method).get("random_all")
    if untrained is not None:
        base["untrained"] = untrained["pattern"]
    sim_b = b.controls.get("simulator_b")
    rows += rows_for(
        b,
        b.name,
        method,
        "simulator",
        [lab],
        base,
        sim_b["pattern"] if sim_b is not None else None,
        {},
        lambda x: cohen_kappa(x, t["pattern"]),
        "pattern_label_kappa",
        "cluster",
        True,
        "1",
        is_converged(ds),
    )
    near = cluster_support(t)
    tpm = t["pattern_map"]

    def pattern_corr(m: xr.DataArray) -> xr.DataArray:
        return _masked_spearman(m, tpm, near).mean("flow_pattern")

    pm = ds["pattern_map"]
    pbase = {"shuffled": ex.shuffled(pm), "other_cluster": ex.other_station(pm, "cluster")}
    if untrained is not None:
        pbase["untrained"] = untrained["pattern_map"]
    rows += rows_for(
        b,
        b.name,
        method,
        "simulator",
        [pm],
        pbase,
        sim_b["pattern_map"] if sim_b is not None else None,
        {},
        pattern_corr,
        "pattern_map_spearman",
        "cluster",
        True,
        "1",
        is_converged(ds),
    )
    return rows


def cluster_support(ds: xr.Dataset) -> xr.DataArray:
    """``(cluster, lat, lon)``: the pixels in or near any basin of the cluster's stations."""
    near = ds["in_near"].astype(bool)
    return near.groupby(ds["station_cluster"].rename("cluster")).any("station")


def _masked_spearman(m: xr.DataArray, t: xr.DataArray, keep: xr.DataArray) -> xr.DataArray:
    """Spearman of each map with the truth's on ``keep`` (same sample dims)."""
    return mt.masked_correlation(m, t, keep, rank=True, name="spearman")


# ------------------------------------------------------------------------------ Experiment 2
