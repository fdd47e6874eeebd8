"""One scorer per experiment: the network's result against the simulator's, with baselines.

Each scorer reads a :class:`Bundle` (the experiment's files of one run) and returns
:class:`~hydrointerp.fidelity.skill.ScoreRow` rows. Where a control is missing (no independent
truth run, no untrained network) the row still comes, without the skill that needs it.
Each experiment names its scorers (its ``scores`` hook, by output file stem);
``docs/fidelity.md`` explains each metric and which broken explainers it was kept for.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from hydrointerp.experiments.curves import minmax, rise_day
from hydrointerp.fidelity import explainers as ex
from hydrointerp.fidelity import metrics as mt
from hydrointerp.fidelity.skill import ScoreRow, reference_row, skill_row
from hydrointerp.fidelity.truth import glacial_melt

MIN_CONVERGED_MASKS = 160  # masks per day below which an unconverged map is flagged


@dataclass
class Bundle:
    """The files of one experiment in a run folder.

    ``model`` maps an attribution method to the network's result; ``truth`` is the simulator's
    (independent draws); ``controls`` holds ``simulator_b`` (a second independent truth: the
    noise ceiling), ``model_b`` (the network with other draws: self-agreement) and the
    randomised networks ``random_head``, ``random_lstm``, ``random_all`` (untrained);
    ``contribution`` the exact additive truth; ``region`` the virtual region.
    """

    name: str
    model: dict[str, xr.Dataset]
    truth: xr.Dataset | None
    controls: dict[str, xr.Dataset] = field(default_factory=dict)
    contribution: xr.Dataset | None = None
    region: xr.Dataset | None = None
    masks: object | None = None  # MaskSet of the network's perturbation run (shared masks)
    n_boot: int = 1000
    method_controls: dict[str, dict[str, xr.Dataset]] = field(default_factory=dict)

    def controls_of(self, method: str) -> dict[str, xr.Dataset]:
        """The control runs of one attribution method (the experiment's own, or a further one
        of ``fidelity.methods``, e.g. its untrained network ``random_all``)."""
        return self.controls if method == "perturbation" else self.method_controls.get(method, {})


RANDOMISED = ("random_head", "random_lstm", "random_all")


def _converged(ds: xr.Dataset) -> bool:
    """True unless a mask experiment stopped at its mask budget below
    :data:`MIN_CONVERGED_MASKS` (its tolerance never bound)."""
    if "masks_per_day" in ds.attrs:
        used = int(ds.attrs["masks_per_day"])
    elif "masks_used" in ds.coords:
        used = int(ds["masks_used"].min())
    elif "masks_used_min" in ds.attrs:
        used = int(ds.attrs["masks_used_min"])
    else:
        return True  # not a mask experiment
    try:
        total = int(json.loads(str(ds.attrs.get("settings_json", "{}"))).get("iters_total", 0))
    except (json.JSONDecodeError, TypeError, ValueError):
        total = 0
    return used >= MIN_CONVERGED_MASKS or (0 < used < total)


def _rows_for(
    b: Bundle,
    experiment: str,
    method: str,
    truth_name: str,
    draws: list[xr.DataArray],
    baselines: dict[str, xr.DataArray],
    ceiling: xr.DataArray | None,
    randomised: dict[str, xr.DataArray],
    metric: Callable[[xr.DataArray], xr.DataArray],
    name: str,
    unit_dim: str,
    higher: bool,
    units: str,
    converged: bool,
) -> list[ScoreRow]:
    """A skill row for the method, reference rows for the randomised networks, and the
    randomisation flag (the trained network must score better than every randomised one)."""
    scores = xr.concat([metric(d) for d in draws], dim="draw")
    base = {k: metric(v) for k, v in baselines.items()}
    ceil = metric(ceiling) if ceiling is not None else None
    row = skill_row(
        experiment,
        method,
        name,
        truth_name,
        scores,
        base,
        ceil,
        unit_dim,
        higher,
        units,
        converged,
        b.n_boot,
    )
    out = [row]
    sign = 1.0 if higher else -1.0
    for level, maps in randomised.items():
        r = reference_row(
            experiment,
            f"{method}:{level}",
            name,
            truth_name,
            metric(maps),
            unit_dim,
            higher,
            units,
            b.n_boot,
        )
        out.append(r)
        if np.isfinite(r.value) and np.isfinite(row.low) and sign * (row.low - r.value) <= 0:
            if "randomisation_not_dropped" not in row.flags:
                row.flags.append("randomisation_not_dropped")
    return out


# ------------------------------------------------------------------------------ heat maps
def _truth_map(ds: xr.Dataset) -> xr.DataArray:
    """The un-normalised, non-negative map of a result (z-scored maps hide the support)."""
    if "raw_sensitivity_member" in ds:
        return ds["raw_sensitivity_member"].mean("member")
    return ds["sensitivity"]


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
        truth_map = _truth_map(b.truth)
        truths.append(("simulator", truth_map, _truth_map(sim_b) if sim_b else None))
        truths.append(("basin", truth_map, _truth_map(sim_b) if sim_b else truth_map))
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
        converged = _converged(ds)
        for truth_name, truth, ceiling in truths:
            for name, fn in _map_metrics(truth_name, truth, basin).items():
                info = mt.MAP_METRICS[name]
                rows += _rows_for(
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
        pairs.append(("noise_ceiling", _truth_map(b.controls["simulator_b"]), _truth_map(b.truth)))
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
            r = getattr(mt, name)(_truth_map(b.truth), mag)
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
        rows += _rows_for(
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
            _converged(ds),
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
    rows += _rows_for(
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
        _converged(ds),
    )
    near = cluster_support(t)
    tpm = t["pattern_map"]

    def pattern_corr(m: xr.DataArray) -> xr.DataArray:
        return _masked_spearman(m, tpm, near).mean("flow_pattern")

    pm = ds["pattern_map"]
    pbase = {"shuffled": ex.shuffled(pm), "other_cluster": ex.other_station(pm, "cluster")}
    if untrained is not None:
        pbase["untrained"] = untrained["pattern_map"]
    rows += _rows_for(
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
        _converged(ds),
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
        rows += _rows_for(
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
            _converged(ds),
        )
        curve = log_tp_curve(ds)
        curve_base = {
            "august_cosine": august_cosine(curve),
            "lag_shifted": ex.lag_shifted(curve, max(1, curve.sizes["time"] // 4)),
            "other_group": ex.other_station(curve, "group"),
        }
        if unt is not None:
            curve_base["untrained"] = log_tp_curve(unt)
        rows += _rows_for(
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
            _converged(ds),
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
            rows += _rows_for(
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
                _converged(ds),
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
        rows += _rows_for(
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
        rows += _rows_for(
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
def _block_days(n: int, block: int = 30) -> np.ndarray:
    return np.arange(n) // block


def score_cell_states(b: Bundle) -> list[ScoreRow]:
    """Experiment 4: correlation of the glacier-runoff cell-state pattern with the true
    glacier melt in 30-day blocks (the unit of the bootstrap), against a cosine peaking on
    1 August and the pattern an untrained network's selection gives."""
    if b.region is None or "flow_component" not in b.region:
        return []
    ds = b.model.get("perturbation")
    if ds is None or "pattern" not in ds:
        return []
    melt = glacial_melt(b.region)
    pat, m = xr.align(ds["pattern"], melt, join="inner")
    if pat.sizes["time"] < 60:
        return []
    block = xr.DataArray(
        _block_days(pat.sizes["time"]), dims="time", coords={"time": pat["time"]}, name="block"
    )

    def z(x: xr.DataArray) -> xr.DataArray:
        s = x.std("time")
        return (x - x.mean("time")) / s.where(s > 0, 1.0)

    zm = z(m)

    def by_block(x: xr.DataArray) -> xr.DataArray:
        """Mean squared difference from the z-scored true melt, per 30-day block."""
        x, t = xr.align(x, zm, join="inner")
        return ((x - t) ** 2).groupby(block.sel(time=x["time"])).mean()

    base = {"august_cosine": z(august_cosine(pat)), "constant": xr.zeros_like(pat)}
    unt = b.controls.get("random_all")
    if unt is not None and "pattern" in unt:
        base["untrained"] = z(unt["pattern"].fillna(0.0))
    return _rows_for(
        b,
        b.name,
        "perturbation",
        "glacier_melt",
        [z(pat.fillna(0.0))],
        base,
        zm,
        {},
        by_block,
        "melt_pattern_mse",
        "block",
        False,
        "1",
        True,
    )


def score_decoding(b: Bundle) -> list[ScoreRow]:
    """Experiment 4 with controls: the glacier melt the cell states add beyond the seasonal
    cycle, temperature memory and snowmelt (leave-one-year-out ``delta_r2``, units = years),
    for the published selection and for all units, against random units of the same count and
    an untrained network's units; the ceiling is everything the controls leave unexplained."""
    ds = b.model.get("perturbation")
    if ds is None or "delta_r2" not in ds:
        return []
    delta = ds["delta_r2"]
    ceiling = 1.0 - ds["r2_controls"]
    base = {
        "controls_only": xr.zeros_like(ceiling),
        "random_units": delta.sel(unit_set="random_units", drop=True),
        "untrained": delta.sel(unit_set="untrained", drop=True),
    }
    rows: list[ScoreRow] = []
    for unit_set in ("selected", "all_units"):
        rows += _rows_for(
            b,
            "cell_states_decoding",
            unit_set,
            "glacier_melt",
            [delta.sel(unit_set=unit_set, drop=True)],
            base,
            ceiling,
            {},
            lambda x: x,
            "delta_r2",
            "year",
            True,
            "1",
            True,
        )
    for unit_set in ("random_units", "untrained"):
        rows.append(
            reference_row(
                "cell_states_decoding",
                f"reference:{unit_set}",
                "delta_r2",
                "glacier_melt",
                delta.sel(unit_set=unit_set, drop=True),
                "year",
                n_boot=b.n_boot,
            )
        )
    rows.append(
        reference_row(
            "cell_states_decoding",
            "reference:controls",
            "r2",
            "glacier_melt",
            ds["r2_controls"],
            "year",
            n_boot=b.n_boot,
        )
    )
    return rows
