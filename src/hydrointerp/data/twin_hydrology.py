"""Calibration of the twin's hydrology: per-gauge process parameters fitted to the real gauges.

Each station's basin is first reduced to one unit forced by its basin-mean weather and its real
glacier fraction. Every combination of :data:`CANDIDATES` is run over the calibration years
(one vectorised run, candidates x stations units); the combination whose z-scored seasonal
cycle (the mean runoff of each within-year day 1..365, as the clustering input is built) is
closest (least squares) to the station's real one (``flowseason_norm``) is kept. A second pass
(:func:`refine`) runs the distributed model (one unit per station and basin cell, as the twin
runs) over the whole record with finer temperature-offset and degree-day steps around that
choice. See
``docs/virtual_region.md``.
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


#: Second-pass steps around each station's first choice (added K; multiplied).
REFINE_OFFSETS_K: tuple[float, ...] = (-1.5, -0.75, 0.0, 0.75, 1.5)
REFINE_DDF_FACTORS: tuple[float, ...] = (0.7, 1.0, 1.4)


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
    """Best candidate per station.

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


def refine(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    weights: np.ndarray,
    glacier: np.ndarray,
    chosen: pd.DataFrame,
    target: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Second pass on the distributed units around each station's first-pass choice.

    Parameters
    ----------
    forcing
        ``[day, unit, (tmax, tmin, precip)]`` weather of every (station, basin cell) unit.
    weights
        ``[station, unit]`` the units' contributions to each station's flow (0 for other
        stations' units).
    glacier
        ``[unit]`` glacier fraction.
    chosen
        First-pass parameters, one row per station.

    Every unit of a station tries its station's parameters with the temperature offsets of
    ``REFINE_OFFSETS_K`` added and the snow degree-day factor times ``REFINE_DDF_FACTORS``; the
    combination whose basin seasonal cycle is nearest the real one is kept.
    """
    station = np.argmax(weights > 0, axis=0)  # each unit belongs to one station
    combos = list(itertools.product(REFINE_OFFSETS_K, REFINE_DDF_FACTORS))
    n_r, n_u = len(combos), station.size
    base = {k: chosen[k].to_numpy()[station] for k in chosen}
    params = {k: np.tile(v, n_r) for k, v in base.items()}
    params["t_offset_k"] = params["t_offset_k"] + np.repeat([c[0] for c in combos], n_u)
    params["ddf_snow_mm_per_k"] = params["ddf_snow_mm_per_k"] * np.repeat(
        [c[1] for c in combos], n_u
    )
    units = np.tile(np.arange(n_u), n_r)
    cycles = mean_cycles(cfg, forcing, dates, glacier[units], params, units)
    basin = np.einsum("dru,su->drs", cycles.reshape(365, n_r, n_u), weights)
    best, corr = _best(basin, target)
    out = chosen.copy()
    out["t_offset_k"] += np.array([combos[b][0] for b in best])
    out["ddf_snow_mm_per_k"] *= np.array([combos[b][1] for b in best])
    return out, corr
