"""Flow-duration-curve and peak metrics of one series pair, as neuralhydrology 1.13 defines them.

Each function takes 1-D NumPy ``obs`` and ``sim`` (and, for the peak metrics, the day number of
every sample), drops the days where either is missing, and returns a float; NaN where the metric
is undefined. :mod:`hydrointerp.training.metrics` maps them over stations and members of labelled
xarray objects. Definitions and defaults follow ``neuralhydrology.evaluation.metrics`` (1.13.0):

- FHV (Yilmaz et al. 2008): percent bias of the top ``h = 0.02`` of the flow-duration curve.
- FLV: percent bias of the log flows of the lowest ``l = 0.3`` of the curve, relative to its
  minimum, with the sign flipped (``-100 (qs - qo) / (qo + 1e-6)``).
- FMS: percent bias of the log slope of the curve between exceedance ``0.2`` and ``0.7``.
- Peak timing (Kratzert et al. 2020): observed peaks from ``scipy.signal.find_peaks`` (distance
  100 steps, prominence = std of the observations); the simulated peak is the day itself if it
  is a local maximum, else the maximum within ``window = 3`` days; mean absolute offset in days.
- Missed peaks: observed and simulated peaks above their 80th percentile (distance 30); the share
  of observed peaks with no simulated peak within ``window = 1`` day.
- Peak MAPE: mean absolute percentage error of the simulation on the observed peaks (as timing).

For FDC metrics zero flows become 1e-6 before the logarithm and non-positive simulations too
(neuralhydrology's rule); negative observations are left, so their logarithm is NaN.
Peaks whose window runs off the series, or spans a gap of missing days, are skipped.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

#: the defaults of neuralhydrology 1.13 for daily series
FHV_H = 0.02
FLV_L = 0.3
FMS_BOUNDS = (0.2, 0.7)
PEAK_TIMING_WINDOW = 3
MISSED_PEAKS_WINDOW = 1
MISSED_PEAKS_PERCENTILE = 80.0
_EPS = 1e-6


def _valid(obs: np.ndarray, sim: np.ndarray, *rest: np.ndarray) -> tuple[np.ndarray, ...]:
    ok = np.isfinite(obs) & np.isfinite(sim)
    return (obs[ok].astype(np.float64), sim[ok].astype(np.float64), *(r[ok] for r in rest))


def _fdc(x: np.ndarray) -> np.ndarray:
    """Flows sorted from highest to lowest (a copy)."""
    return np.sort(x)[::-1].copy()


def _n(fraction: float, n: int) -> int:
    """neuralhydrology's index rule ``np.round(fraction * n)`` (round half to even)."""
    return int(np.round(fraction * n))


def _floor_for_log(obs: np.ndarray, sim: np.ndarray) -> None:
    sim[sim <= 0] = _EPS
    obs[obs == 0] = _EPS


def fhv(obs: np.ndarray, sim: np.ndarray, h: float = FHV_H) -> float:
    """Percent bias of the high-flow segment (top ``h``) of the flow-duration curve."""
    if not 0 < h < 1:
        raise ValueError(f"FHV: h must lie in (0, 1), got {h}")
    obs, sim = _valid(obs, sim)
    if obs.size < 1:
        return np.nan
    k = _n(h, obs.size)
    o, s = _fdc(obs)[:k], _fdc(sim)[:k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(s - o) / np.sum(o) * 100)


def flv(obs: np.ndarray, sim: np.ndarray, l: float = FLV_L) -> float:  # noqa: E741 - nh's name
    """Percent bias of the low-flow segment (bottom ``l``, log flows) of the flow-duration curve.

    As in neuralhydrology, a segment of zero length (``round(l * n) == 0``) means the whole curve.
    """
    if not 0 < l < 1:
        raise ValueError(f"FLV: l must lie in (0, 1), got {l}")
    obs, sim = _valid(obs, sim)
    if obs.size < 1:
        return np.nan
    o, s = _fdc(obs), _fdc(sim)
    _floor_for_log(o, s)
    k = _n(l, o.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, ls = np.log(o[-k:]), np.log(s[-k:])
        qol = np.sum(lo - lo.min())
        qsl = np.sum(ls - ls.min())
        return float(-1 * (qsl - qol) / (qol + _EPS) * 100)


def fms(
    obs: np.ndarray, sim: np.ndarray, lower: float = FMS_BOUNDS[0], upper: float = FMS_BOUNDS[1]
) -> float:
    """Percent bias of the log slope of the flow-duration curve's middle segment."""
    if not (0 < lower < 1 and 0 < upper < 1) or lower >= upper:
        raise ValueError(f"FMS: need 0 < lower < upper < 1, got {lower}, {upper}")
    obs, sim = _valid(obs, sim)
    i, j = _n(lower, obs.size), _n(upper, obs.size)
    if obs.size < 1 or j >= obs.size:
        return np.nan
    o, s = _fdc(obs), _fdc(sim)
    _floor_for_log(o, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        qs = np.log(s[i]) - np.log(s[j])
        qo = np.log(o[i]) - np.log(o[j])
        return float((qs - qo) / (qo + _EPS) * 100)


def _window_whole(days: np.ndarray, idx: int, window: int) -> bool:
    """Whether ``idx +- window`` lies inside the series and spans no missing day."""
    if idx - window < 0 or idx + window >= days.size:
        return False
    return bool(days[idx + window] - days[idx - window] == 2 * window)


def _timing_peaks(obs: np.ndarray) -> np.ndarray:
    return signal.find_peaks(obs, distance=100, prominence=np.std(obs))[0]


def peak_timing(
    obs: np.ndarray, sim: np.ndarray, days: np.ndarray, window: int = PEAK_TIMING_WINDOW
) -> float:
    """Mean absolute offset (days) between observed peaks and the simulated peaks beside them."""
    obs, sim, days = _valid(obs, sim, days)
    if obs.size < 1:
        return np.nan
    errors = []
    for idx in _timing_peaks(obs):
        if not _window_whole(days, idx, window):
            continue
        if sim[idx] > sim[idx - 1] and sim[idx] > sim[idx + 1]:
            at = idx
        else:
            at = idx - window + int(np.argmax(sim[idx - window : idx + window + 1]))
        errors.append(abs(float(days[idx] - days[at])))
    return float(np.mean(errors)) if errors else np.nan


def missed_peaks(
    obs: np.ndarray,
    sim: np.ndarray,
    days: np.ndarray,
    window: int = MISSED_PEAKS_WINDOW,
    percentile: float = MISSED_PEAKS_PERCENTILE,
) -> float:
    """Share of observed peaks (above the percentile) with no simulated peak within ``window``.

    Observed peaks skipped at the edges or beside gaps still count in the denominator
    (neuralhydrology's rule).
    """
    obs, sim, days = _valid(obs, sim, days)
    if obs.size < 1:
        return np.nan
    po = signal.find_peaks(obs, distance=30, height=np.percentile(obs, percentile))[0]
    ps = signal.find_peaks(sim, distance=30, height=np.percentile(sim, percentile))[0]
    if po.size == 0:
        return 0.0
    missed = sum(
        1
        for idx in po
        if _window_whole(days, idx, window) and not np.any(np.abs(ps - idx) <= window)
    )
    return missed / po.size


def peak_mape(obs: np.ndarray, sim: np.ndarray) -> float:
    """Mean absolute percentage error (%) of the simulation on the observed peaks."""
    obs, sim = _valid(obs, sim)
    if obs.size < 1:
        return np.nan
    peaks = _timing_peaks(obs)
    if peaks.size == 0:
        return np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(np.abs((sim[peaks] - obs[peaks]) / obs[peaks])) / peaks.size * 100)
