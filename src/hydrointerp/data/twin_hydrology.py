"""Calibration of the twin's hydrology: per-gauge process parameters fitted to the real gauges.

The target of each gauge is its real z-scored seasonal cycle (``flowseason_norm``) moved part of
the way to its published cluster's mean cycle (:func:`shrunk_target`). Each station's basin is
first reduced to one unit forced by its basin-mean weather and its real glacier fraction. Every
combination of :data:`CANDIDATES` is run over the calibration years (one vectorised run,
candidates x stations units); the combination whose z-scored seasonal cycle (the mean runoff of
each within-year day 1..365, as the clustering input is built) is closest (least squares) to
the target is kept. The single-unit local searches of :data:`LOCAL_STEPS` (evaporation demand,
rain-snow threshold, slow reservoir; :func:`search`) follow, then :func:`refine` runs the
distributed model (one unit per station and basin cell, as the twin runs) over the whole record
with finer temperature-offset and degree-day steps. See ``docs/virtual_region.md``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.data.virtual_hydrology import CellModel

#: Candidate values of the calibrated parameters (all combinations are tried per station).
CANDIDATES: dict[str, tuple[float, ...]] = {
    "t_offset_k": (-10.0, -7.0, -4.5, -2.5, -1.0, 0.5, 2.0),
    "ddf_snow_mm_per_k": (1.5, 3.0, 5.0),
    "fast_rate_per_day": (0.025, 0.06, 0.2),
    "slow_rate_per_day": (0.004, 0.02),
    "slow_share": (0.15, 0.45),
}


#: A step of a local search: (parameter, how the values apply, values). ``"set"`` replaces the
#: station's value, ``"add"`` adds to it, ``"mul"`` multiplies it; every combination of the
#: steps of one pass is tried per station.
Step = tuple[str, str, tuple[float, ...]]

#: Single-unit passes after the grid of :data:`CANDIDATES` (evaporation demand per degree and the
#: fast reservoir interact with the temperature offset, so the offset moves with them).
LOCAL_STEPS: tuple[tuple[Step, ...], ...] = (
    (
        ("pet_mm_per_k", "set", (0.1, 0.2, 0.35, 0.5)),
        ("t_offset_k", "add", (-1.5, 0.0, 1.5)),
        ("fast_rate_per_day", "set", (0.025, 0.06, 0.2)),
    ),
    (
        ("t_rain_c", "set", (2.0, 4.0, 6.0, 8.0)),
        ("ddf_snow_mm_per_k", "mul", (0.7, 1.0, 1.4)),
        ("t_offset_k", "add", (-1.0, 0.0, 1.0)),
    ),
    (
        ("slow_rate_per_day", "set", (0.002, 0.004, 0.008, 0.02)),
        ("slow_share", "set", (0.15, 0.3, 0.45, 0.6)),
    ),
)


def shrunk_target(real: np.ndarray, cluster: np.ndarray, weight: float) -> np.ndarray:
    """Each gauge's real cycle moved ``weight`` of the way to its published cluster's mean.

    ``real[365, station]`` z-scored cycles, ``cluster[station]`` labels. A gauge's cycle is its
    cluster's shape plus its own deviation, part of which is the noise of a short record; the
    calibration target keeps ``1 - weight`` of the deviation (see docs/virtual_region.md).
    """
    real = np.asarray(real, np.float64)
    labels = np.asarray(cluster)
    means = {k: real[:, labels == k].mean(axis=1) for k in np.unique(labels)}
    centre = np.stack([means[k] for k in labels], axis=1)
    return (1.0 - weight) * real + weight * centre


#: The distributed pass (:func:`refine`): steps around each station's single-unit choice.
REFINE_STEPS: tuple[Step, ...] = (
    ("t_offset_k", "add", (-1.5, -0.75, 0.0, 0.75, 1.5)),
    ("ddf_snow_mm_per_k", "mul", (0.7, 1.0, 1.4)),
)


def basin_forcing(weather: np.ndarray, mask: np.ndarray, cell_area: np.ndarray) -> np.ndarray:
    """Basin-mean weather ``[day, station, channel]`` (cell fraction x area weights)."""
    w = mask * cell_area
    w = w.reshape(w.shape[0], -1) / w.reshape(w.shape[0], -1).sum(axis=1, keepdims=True)
    return np.einsum("tcx,sc->tsx", weather.reshape(weather.shape[0], -1, weather.shape[-1]), w)


def candidate_table() -> pd.DataFrame:
    """Every combination of :data:`CANDIDATES`, one row each."""
    rows = list(itertools.product(*CANDIDATES.values()))
    return pd.DataFrame(rows, columns=list(CANDIDATES))


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def mean_cycles(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    glacier: np.ndarray,
    params: dict[str, np.ndarray],
    units: np.ndarray | None = None,
) -> np.ndarray:
    """Mean runoff ``[365, unit]`` (mm/day) of units forced by ``forcing[day, units, channel]``.

    ``units`` (default: all) picks the forcing column of each unit. Storages are spun up on
    the first 365 days (``cfg.spinup_cycles`` passes); within-year day 366 of leap years is left
    out, as in the published climatology.
    """
    model = CellModel(cfg, glacier, params)
    pick = np.arange(forcing.shape[1]) if units is None else np.asarray(units)

    def day(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = forcing[d, pick]
        return w[:, 0], w[:, 1], w[:, 2]

    state = model.spin_up(day, 365, (), pick.size)
    doy = dates.day_of_year.to_numpy()
    total = np.zeros((365, pick.size))
    count = np.zeros(365)
    for d in range(len(dates)):
        runoff = model.step(state, *day(d)).sum(axis=0)
        if doy[d] <= 365:
            total[doy[d] - 1] += runoff
            count[doy[d] - 1] += 1
    return total / np.maximum(count, 1)[:, None]


def calibrate(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    glacier: np.ndarray,
    target: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Best candidate per station, then the single-unit :data:`LOCAL_STEPS` around it.

    Parameters
    ----------
    forcing
        ``[day, station, (tmax, tmin, precip)]`` basin-mean weather (K, mm/day).
    glacier
        ``[station]`` glacier fraction.
    target
        ``[365, station]`` the real z-scored seasonal cycle.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        The chosen parameters (one row per station) and the calibration correlation of each.
    """
    table = candidate_table()
    n_c, n_s = len(table), forcing.shape[1]
    params = {k: np.repeat(table[k].to_numpy(), n_s) for k in table}
    units = np.tile(np.arange(n_s), n_c)
    cycles = mean_cycles(cfg, forcing, dates, glacier[units], params, units)
    best, corr = _best(cycles.reshape(365, n_c, n_s), target)
    chosen = table.iloc[best].reset_index(drop=True)
    for steps in LOCAL_STEPS:
        chosen, corr = search(cfg, forcing, dates, glacier, np.eye(n_s), chosen, target, steps)
    return chosen, corr


def _best(cycles: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the candidate nearest the target per station, and its correlation.

    ``cycles[365, candidate, station]`` mean runoff; ``target[365, station]``.
    """
    shape = cycles.shape
    z = _zscore_rows(cycles.reshape(365, -1)).reshape(shape)
    tz = _zscore_rows(np.asarray(target, np.float64))
    err = ((z - tz[:, None, :]) ** 2).mean(axis=0)  # [candidate, station]
    best = np.argmin(err, axis=0)
    return best, 1.0 - 0.5 * err[best, np.arange(shape[2])]


def _apply(base: np.ndarray, how: str, value: np.ndarray) -> np.ndarray:
    if how == "set":
        return np.broadcast_to(value, np.broadcast_shapes(base.shape, value.shape)).copy()
    if how == "add":
        return base + value
    if how == "mul":
        return base * value
    raise ValueError(f"unknown step kind {how!r}; known set, add, mul")


def search(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    glacier: np.ndarray,
    weights: np.ndarray,
    chosen: pd.DataFrame,
    target: np.ndarray,
    steps: tuple[Step, ...],
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every combination of ``steps`` around each station's ``chosen`` parameters; the best kept.

    Parameters
    ----------
    forcing
        ``[day, unit, (tmax, tmin, precip)]`` weather of each unit (a whole basin, or one
        (station, basin cell) unit of the distributed model).
    glacier
        ``[unit]`` glacier fraction.
    weights
        ``[station, unit]`` the units' contributions to each station's flow (0 for other
        stations' units; the identity for one unit per station).
    chosen
        Parameters so far, one row per station; a parameter a step names but ``chosen`` lacks
        starts from the configuration's value.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        The parameters with the best combination applied, and each station's correlation.
    """
    station = np.argmax(weights > 0, axis=0)  # each unit belongs to one station
    combos = np.array(list(itertools.product(*(values for _, _, values in steps))))
    n_r, n_u = len(combos), station.size
    start = chosen.copy()
    for name, _, _ in steps:
        if name not in start:
            start[name] = float(getattr(cfg, name))
    params = {k: np.tile(start[k].to_numpy()[station], n_r) for k in start}
    for j, (name, how, _) in enumerate(steps):
        params[name] = _apply(params[name], how, np.repeat(combos[:, j], n_u))
    units = np.tile(np.arange(n_u), n_r)
    cycles = mean_cycles(cfg, forcing, dates, glacier[units], params, units)
    basin = np.einsum("dru,su->drs", cycles.reshape(365, n_r, n_u), weights)
    best, corr = _best(basin, target)
    for j, (name, how, _) in enumerate(steps):
        start[name] = _apply(start[name].to_numpy(), how, combos[best, j])
    return start, corr


def refine(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    weights: np.ndarray,
    glacier: np.ndarray,
    chosen: pd.DataFrame,
    target: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The distributed pass: :data:`REFINE_STEPS` around each station's single-unit choice.

    ``forcing[day, unit, channel]`` is the weather of every (station, basin cell) unit,
    ``weights[station, unit]`` their contributions to each station's flow and ``glacier[unit]``
    their glacier fractions (see :func:`search`).
    """
    return search(cfg, forcing, dates, glacier, weights, chosen, target, REFINE_STEPS)
