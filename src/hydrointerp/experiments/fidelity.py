"""Fidelity of every interpretation, scored against the virtual region's known truth.

The same experiment runs on the trained network and on the process simulator
(:class:`hydrointerp.data.virtual_predictor.SimulatorPredictor`), whose sensitivity is, by
construction, confined to each station's basin and whose flow components are known. The score
functions here are pure: labelled arrays in, labelled scores out.

* Experiment 1 / heat maps: share of the (min-shifted) sensitivity inside the true basin, Spearman
  rank correlation and ROC AUC of the network's map against the simulator's map, per station.
* Experiment 2: Pearson correlation of ``S_T(t)``, ``S_P(t)`` with the simulator's, per group.
* Experiment 3: sign agreement and magnitude correlation of the composite anomalies.
* Experiment 4: correlation of the glacier-runoff cell-state pattern with the glacial stations'
  true glacier-melt component, in the melt season and over the whole year.

:func:`fidelity_table` collects the scores of a run folder into rows
``(experiment, method, metric, value)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from sklearn.metrics import roc_auc_score

from hydrointerp.errors import DataError

#: Attribution methods whose outputs are compared (file suffix ``""`` is perturbation).
METHODS: dict[str, str] = {
    "perturbation": "",
    "integrated_gradients": "_integrated_gradients",
    "saliency": "_saliency",
}
MAP_DIMS = ("lat", "lon")


# ------------------------------------------------------------------------- Experiment 1 / maps
def _shifted(maps: xr.DataArray) -> xr.DataArray:
    """Each map minus its minimum (non-negative, so shares are defined for z-scored maps)."""
    return maps - maps.min(MAP_DIMS)


def basin_share(maps: xr.DataArray, basin: xr.DataArray) -> xr.DataArray:
    """Share of each map's (min-shifted) sensitivity inside the basin, ``(station)`` in 0..1.

    ``maps(..., lat, lon)`` and ``basin(..., lat, lon)`` (cell fractions or booleans) align on
    their other dims (station or cluster).
    """
    s = _shifted(maps)
    inside = (s * (basin > 0)).sum(MAP_DIMS)
    total = s.sum(MAP_DIMS)
    return (inside / total.where(total > 0)).rename("basin_share").assign_attrs(units="1")


def _per_map(a: xr.DataArray, b: xr.DataArray, func, name: str) -> xr.DataArray:  # noqa: ANN001
    a, b = xr.align(a, b, join="inner")
    return xr.apply_ufunc(
        func,
        a.stack(pixel=MAP_DIMS),
        b.stack(pixel=MAP_DIMS),
        input_core_dims=[["pixel"], ["pixel"]],
        vectorize=True,
    ).rename(name)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def rank_correlation(maps: xr.DataArray, truth: xr.DataArray) -> xr.DataArray:
    """Spearman rank correlation over pixels of each map with the true map."""
    return _per_map(maps, truth, _spearman, "rank_correlation")


def truth_labels(truth: xr.DataArray, rel_tol: float = 0.5) -> xr.DataArray:
    """The true map's sensitive pixels: ``truth - min > rel_tol * (max - min)``; the default
    0.5 is the half-max area of metric A; a tiny ``rel_tol`` takes every pixel above the floor
    (the basin itself for a simulator map that is zero outside its basin)."""
    floor = truth.min(MAP_DIMS)
    span = truth.max(MAP_DIMS) - floor
    return (truth - floor) > rel_tol * span


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    label = label.astype(bool)
    if label.all() or not label.any():
        return float("nan")
    return float(roc_auc_score(label, score))


def map_auc(maps: xr.DataArray, truth: xr.DataArray, rel_tol: float = 0.5) -> xr.DataArray:
    """ROC AUC of each map as a detector of the pixels the truth is sensitive to
    (:func:`truth_labels`; 0.5 = chance, 1 = the map ranks every such pixel first)."""
    return _per_map(maps, truth_labels(truth, rel_tol), _auc, "auc")


def basin_auc(maps: xr.DataArray, basin: xr.DataArray) -> xr.DataArray:
    """ROC AUC of each map as a detector of the true basin's cells (``basin > 0``)."""
    return _per_map(maps, basin > 0, _auc, "basin_auc")


# ------------------------------------------------------------------------- Experiments 2 and 3
def curve_correlation(curves: xr.DataArray, truth: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Pearson correlation along ``dim`` of each curve with the true one."""
    curves, truth = xr.align(curves, truth, join="inner")
    return xr.corr(curves, truth, dim=dim).rename("correlation")


def sign_agreement(values: xr.DataArray, truth: xr.DataArray) -> float:
    """Share of entries (finite in both) whose signs agree."""
    a, b = xr.align(values, truth, join="inner")
    ok = np.isfinite(a.values) & np.isfinite(b.values)
    if not ok.any():
        return float("nan")
    return float((np.sign(a.values[ok]) == np.sign(b.values[ok])).mean())


def magnitude_correlation(values: xr.DataArray, truth: xr.DataArray) -> float:
    """Pearson correlation of all entries (finite in both)."""
    a, b = xr.align(values, truth, join="inner")
    ok = np.isfinite(a.values) & np.isfinite(b.values)
    if ok.sum() < 3:
        return float("nan")
    return float(np.corrcoef(a.values[ok], b.values[ok])[0, 1])


# ------------------------------------------------------------------------- Experiment 4
def melt_season(time: pd.DatetimeIndex, start: str = "06-15", end: str = "09-15") -> np.ndarray:
    """Days between ``start`` and ``end`` (month-day, inclusive)."""
    md = pd.DatetimeIndex(time).strftime("%m-%d")
    return np.asarray((md >= start) & (md <= end))


def pattern_melt_correlation(pattern: xr.DataArray, melt: xr.DataArray) -> dict[str, float]:
    """Correlation of the cell-state pattern with the true glacier melt, ``melt_season`` and
    ``whole_year`` (``pattern(time)``, ``melt(time)`` on overlapping days)."""
    p, m = xr.align(pattern, melt, join="inner")
    if p.sizes["time"] < 3:
        raise DataError(
            "cell-state pattern and glacier melt share too few days",
            variable="time",
            expected=">= 3 days",
            found=p.sizes["time"],
        )
    season = melt_season(pd.DatetimeIndex(p["time"].values))
    out = {"whole_year": float(np.corrcoef(p.values, m.values)[0, 1])}
    out["melt_season"] = (
        float(np.corrcoef(p.values[season], m.values[season])[0, 1])
        if season.sum() > 2
        else float("nan")
    )
    return out


def glacial_melt(region: xr.Dataset, threshold: float = 0.01) -> xr.DataArray:
    """Mean true glacier-melt component of the glacial stations (``glacier_fraction >
    threshold``), each z-scored first, ``(time)``."""
    glacial = region["glacier_fraction"] > threshold
    if not bool(glacial.any()):
        raise DataError(
            "no glacial station in the region",
            variable="glacier_fraction",
            expected=f"some > {threshold}",
            found=float(region["glacier_fraction"].max()),
        )
    melt = region["flow_component"].sel(component="glacier_melt").isel(station=glacial.values)
    z = (melt - melt.mean("time")) / melt.std("time").where(melt.std("time") > 0)
    return z.mean("station", skipna=True).rename("glacier_melt")


# ------------------------------------------------------------------------- the table
def _rows(experiment: str, method: str, scores: dict[str, float]) -> list[dict]:
    return [
        {"experiment": experiment, "method": method, "metric": k, "value": float(v)}
        for k, v in scores.items()
    ]


def score_heat_maps(model: xr.Dataset, truth: xr.Dataset, basin: xr.DataArray) -> dict:
    """Median over stations of the map scores (``heat_map.nc`` of network and simulator)."""
    m, t = model["sensitivity"], truth["sensitivity"]
    b = basin.sel(station=m["station"].values)
    return {
        "basin_share": float(basin_share(m, b).median()),
        "basin_share_truth": float(basin_share(t, b).median()),
        "rank_correlation": float(rank_correlation(m, t).median()),
        "auc": float(map_auc(m, t).median()),
        "basin_auc": float(basin_auc(m, b).median()),
    }


def score_daily_maps(model: xr.Dataset, truth: xr.Dataset) -> dict:
    """Mean over days and clusters of the rank correlation and AUC of daily cluster maps."""
    m, t = model["sensitivity"], truth["sensitivity"]
    return {
        "rank_correlation": float(rank_correlation(m, t).mean()),
        "auc": float(map_auc(m, t).mean()),
    }


def score_channels(model: xr.Dataset, truth: xr.Dataset) -> dict:
    """Correlation of ``s_temperature``/``s_precipitation`` per group with the simulator's."""
    out = {}
    for var, short in (("s_temperature", "S_T"), ("s_precipitation", "S_P")):
        r = curve_correlation(model[var], truth[var])
        out[f"{short}_correlation_mean"] = float(r.mean())
        for g in r[r.dims[0]].values if r.ndim else []:
            out[f"{short}_correlation_{g}"] = float(r.sel({r.dims[0]: g}))
    return out


def score_drivers(model: xr.Dataset, truth: xr.Dataset) -> dict:
    """Sign agreement and magnitude correlation of the composite anomalies."""
    out = {
        "sign_agreement": sign_agreement(model["anomaly"], truth["anomaly"]),
        "magnitude_correlation": magnitude_correlation(model["anomaly"], truth["anomaly"]),
    }
    for var in model["variable"].values:
        out[f"sign_agreement_{var}"] = sign_agreement(
            model["anomaly"].sel(variable=var), truth["anomaly"].sel(variable=var)
        )
    return out


def score_cell_states(cell: xr.Dataset, region: xr.Dataset) -> dict:
    """Correlations of the cell-state pattern with the glacial stations' true melt."""
    return pattern_melt_correlation(cell["pattern"], glacial_melt(region))


def _open(path: Path) -> xr.Dataset | None:
    return xr.load_dataset(path, engine="h5netcdf") if path.is_file() else None


def _method_of(path: Path, ds: xr.Dataset, name: str) -> str | None:
    """Attribution method of a result file: its ``method``/``setting_method`` attribute, else
    the file-name suffix of :data:`METHODS`; None for files of another experiment."""
    for key in ("method", "setting_method", "attribution_method"):
        if str(ds.attrs.get(key, "")) in METHODS:
            return str(ds.attrs[key])
    for method, suffix in METHODS.items():
        if path.stem == f"{name}{suffix}":
            return method
    return None


def network_results(exp_dir: Path, name: str) -> dict[str, xr.Dataset]:
    """The network's results of experiment ``name`` in ``exp_dir``, by attribution method."""
    found: dict[str, xr.Dataset] = {}
    for path in sorted(exp_dir.glob(f"{name}*.nc")):
        ds = _open(path)
        method = _method_of(path, ds, name) if ds is not None else None
        if method is not None and method not in found:
            found[method] = ds
    return found


def _probe_rows(path: Path) -> list[dict]:
    """The cell-state probe's R2 (selected vs random units) and p-value, when it was run."""
    probe = _open(path)
    if probe is None:
        return []
    keys = ("mean_r2_selected", "mean_r2_random", "p_value")
    scores = {k: float(probe.attrs[k]) for k in keys if k in probe.attrs}
    return _rows("cell_states_probe", "perturbation", scores)


def fidelity_table(
    run_dir: str | os.PathLike[str],
    truth_dir: str | os.PathLike[str] | None = None,
    region: xr.Dataset | None = None,
) -> pd.DataFrame:
    """Score every experiment found in ``run_dir/experiments`` against the simulator's.

    Network results are ``experiments/<name>*.nc``, their attribution method read from a
    ``method`` attribute or the file suffix of :data:`METHODS`; the simulator's are
    ``experiments/simulator/<name>.nc`` (or ``truth_dir``). ``region`` (default
    ``run_dir/region.nc``) gives the true basins and glacier melt. The cell-state probe's
    scores (``experiments/probe.nc``) are added when present.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment, method, metric, value``.
    """
    exp = Path(run_dir) / "experiments"
    truth = Path(truth_dir) if truth_dir is not None else exp / "simulator"
    if region is None and (Path(run_dir) / "region.nc").is_file():
        region = xr.load_dataset(Path(run_dir) / "region.nc", engine="h5netcdf")
    rows: list[dict] = []
    scorers = {
        "heat_map": lambda m, t: score_heat_maps(m, t, _basin(region, m)),
        "sensitivity_daily": score_daily_maps,
        "channel_importance": score_channels,
        "drivers": score_drivers,
    }
    for name, scorer in scorers.items():
        true_ds = _open(truth / f"{name}.nc")
        if true_ds is None:
            continue
        rows += _rows(name, "simulator", scorer(true_ds, true_ds))
        for method, model_ds in network_results(exp, name).items():
            rows += _rows(name, method, scorer(model_ds, true_ds))
    cell = _open(exp / "cell_states.nc")
    if cell is not None and region is not None and "flow_component" in region:
        rows += _rows("cell_states", "perturbation", score_cell_states(cell, region))
    rows += _probe_rows(exp / "probe.nc")
    if not rows:
        raise DataError(
            "nothing to score: no experiment has both a network and a simulator result",
            source=str(exp),
            expected="experiments/<name>.nc and experiments/simulator/<name>.nc",
            found=sorted(p.name for p in exp.glob("**/*.nc")) if exp.is_dir() else [],
        )
    return pd.DataFrame(rows, columns=["experiment", "method", "metric", "value"])


def _basin(region: xr.Dataset | None, model: xr.Dataset) -> xr.DataArray:
    if region is not None and "basin_mask" in region:
        return region["basin_mask"]
    if "basin_mask" in model:
        return model["basin_mask"]
    raise DataError(
        "heat-map fidelity needs the true basins",
        variable="basin_mask",
        expected="region.nc with basin_mask",
        found="none",
    )


def table_dataset(table: pd.DataFrame) -> xr.Dataset:
    """The fidelity table as ``score(row)`` with ``experiment/method/metric`` coordinates."""
    ds = xr.Dataset(
        {"score": ("row", table["value"].to_numpy(float))},
        coords={
            c: ("row", table[c].astype(str).to_numpy()) for c in ("experiment", "method", "metric")
        },
    )
    ds.attrs.update(
        title="hydrointerp fidelity scores against the virtual region's truth", Conventions="CF-1.8"
    )
    return ds
