"""Calibration of the twin's hydrology: per-gauge process parameters fitted to the real gauges.

Each station's basin is first reduced to one unit forced by its basin-mean weather and its real
glacier fraction. Every combination of :data:`CANDIDATES` is run over the calibration years
(one vectorised run, candidates x stations units); the combination whose z-scored seasonal
cycle (the mean runoff of each within-year day 1..365, as the clustering input is built) is
closest (least squares) to the station's real one (``flowseason_norm``) is kept. The twin then
runs those parameters on every (station, basin cell) unit. See ``docs/virtual_region.md``.
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


def seasonal_cycles(
    cfg: VirtualRegionConfig,
    forcing: np.ndarray,
    dates: pd.DatetimeIndex,
    glacier: np.ndarray,
    params: dict[str, np.ndarray],
    units: np.ndarray | None = None,
) -> np.ndarray:
    """Z-scored mean runoff ``[365, unit]`` of units forced by ``forcing[day, units, channel]``.

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
    return _zscore_rows(total / np.maximum(count, 1)[:, None])


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
    cycles = seasonal_cycles(cfg, forcing, dates, glacier[units], params, units)
    cycles = cycles.reshape(365, n_c, n_s)
    tz = _zscore_rows(np.asarray(target, np.float64))
    err = ((cycles - tz[:, None, :]) ** 2).mean(axis=0)  # [candidate, station]
    best = np.argmin(err, axis=0)
    corr = 1.0 - 0.5 * err[best, np.arange(n_s)]
    chosen = table.iloc[best].reset_index(drop=True)
    return chosen, corr
