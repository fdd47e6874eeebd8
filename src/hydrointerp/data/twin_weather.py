"""The twin's weather: a stochastic model fitted to the real ERA5 fields of the mini data.

Fit (:func:`fit_weather`, on the de-normalised 2010-2011 fields of the published mini data):

1. Tmax and Tmin: per-cell seasonal mean and standard deviation as harmonics of the day of year
   (``N_HARMONICS`` for the mean, ``N_SD_HARMONICS`` for the variance); standardised anomalies.
2. Precipitation: per cell and calendar month, the empirical quantile function of all days
   (dry days included) pooled over a window of +-``MONTH_WINDOW_DAYS`` around the month's centre;
   real days are turned into normal scores through that distribution (ties at zero spread
   uniformly over the dry probability mass with a fixed generator).
3. Space-time structure: the three channels' anomalies of all cells form one vector per day;
   its leading EOFs (explaining ``EOF_VARIANCE`` of the variance, at most ``MAX_EOFS``) follow
   a VAR(1) model fitted per season (DJF, MAM, JJA, SON: lag-1 persistence, cross-channel
   coupling such as Tmax-Tmin, spatial correlation, all season-dependent); the rest is AR(1)
   noise per cell and channel with the residual's variance and persistence; a per-season,
   per-column factor (from a 30-year run of the fitted model with a fixed seed) restores each
   season's real latent variance. The latent precipitation is partly mixed with a day-shuffled
   copy of itself so that the persistence of amounts matches the real one (same run).

Generation (:func:`generate_weather`) runs the VAR(1) from the seed, adds the residual noise
and maps back through the seasonal means/sds and the precipitation quantile functions
(blended linearly between the two nearest month centres). Same fit, dates and seed: identical
weather. See ``docs/virtual_region.md`` (twin).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtr, ndtri

from hydrointerp.data.mini import NORMALISATION
from hydrointerp.errors import DataError
from hydrointerp.io.geo import basin_masks, read_outlines
from hydrointerp.io.grid import Grid
from hydrointerp.published import CHANNELS

N_HARMONICS = 3
N_SD_HARMONICS = 2
MONTH_WINDOW_DAYS = 30
N_LEVELS = 401
EOF_VARIANCE = 0.97
VAR_FLOOR = 0.25
MAX_EOFS = 60
_BURN_IN = 200
SCALE_RUN_YEARS = 30
SCALE_RUN_SEED = 12345
MIN_PRECIP_MEMORY = 0.5
_YEAR = 365.25
#: Reference for the precipitation scale: Salmon River (08KC001) basin-mean ERA5 (mm/day).
SALMON_ERA5 = Path("salmon_08KC001") / "ERA5_weather_data_Salmon.nc"
SALMON_OUTLINE = Path("salmon_08KC001") / "salmon_river.geojson"


@dataclass(frozen=True)
class WeatherFit:
    """The fitted weather model (all arrays float64; cells flattened lat-major)."""

    lat: np.ndarray
    lon: np.ndarray
    mean_coef: np.ndarray  # [2 channel, harmonic term, cell]  tmax, tmin in K
    var_coef: np.ndarray  # [2 channel, harmonic term, cell]  variance in K2
    precip_quantiles: np.ndarray  # [12 month, N_LEVELS, cell]  mm/day
    eofs: np.ndarray  # [K, 3 * cell]  channel-major (tmax cells, tmin cells, precip cells)
    var_a: np.ndarray  # [season, K, K]  (DJF, MAM, JJA, SON)
    var_noise_chol: np.ndarray  # [season, K, K]
    resid_sd: np.ndarray  # [3 * cell]
    resid_phi: np.ndarray  # [3 * cell]
    precip_scale_mm_day: float
    season_scale: np.ndarray | None = None  # [season, 3 * cell]  variance correction
    precip_memory: float = 1.0  # share of the latent precipitation kept in time order

    @property
    def n_cells(self) -> int:
        """Cells of the grid."""
        return int(self.lat.size * self.lon.size)


def _harmonics(doy: np.ndarray, n: int) -> np.ndarray:
    """``[day, 1 + 2n]`` design matrix of the day of year."""
    w = 2.0 * np.pi * np.asarray(doy, np.float64)[:, None] / _YEAR
    k = np.arange(1, n + 1)[None, :]
    return np.concatenate([np.ones((len(doy), 1)), np.cos(w * k), np.sin(w * k)], axis=1)


def month_anomalies(x: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
    """``x[day, cell]`` minus its per-cell calendar-month mean."""
    out = np.empty_like(x, dtype=np.float64)
    month = dates.month.to_numpy()
    for m in range(1, 13):
        sel = month == m
        out[sel] = x[sel] - x[sel].mean(axis=0)
    return out


def lag1(a: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation per column of the zero-mean ``a[day, cell]``."""
    return (a[1:] * a[:-1]).mean(axis=0) / np.maximum(a.var(axis=0), 1e-12)


def _seasonal_sd(design: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Seasonal standard deviation ``[day, cell]`` of harmonic variance coefficients.

    The fitted variance is floored at ``VAR_FLOOR`` times the cell's annual-mean variance (a
    harmonic fit of squared residuals can dip towards zero).
    """
    return np.sqrt(np.maximum(design @ coef, VAR_FLOOR * coef[0]))


def _month_centres() -> np.ndarray:
    """Day of year of the middle of each month (non-leap year)."""
    starts = pd.date_range("2001-01-01", periods=12, freq="MS").day_of_year.to_numpy()
    return starts + np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) / 2.0 - 0.5


def _circular_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(np.asarray(a, np.float64)[:, None] - np.asarray(b, np.float64)[None, :])
    return np.minimum(d, _YEAR - d)


def _month_blend(doy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each day the two nearest month centres and the weight of the first."""
    centres = _month_centres()
    d = np.asarray(doy, np.float64)
    before = (np.searchsorted(centres, d) - 1) % 12
    after = (before + 1) % 12
    span = (centres[after] - centres[before]) % _YEAR
    w_after = ((d - centres[before]) % _YEAR) / span
    return before, after, 1.0 - w_after


def precip_scale(shared_data: Path, mini: xr.Dataset) -> float:
    """mm/day per unit of ``P_norm + P_mean/P_std`` (the unknown precipitation std).

    Regression through the origin of the Salmon River basin-mean ERA5 precipitation on the mini
    data's basin-mean ``P_norm + 0.4748`` (the basin outline rasterised to cell fractions) over
    the mini weather days.
    """
    path = shared_data / SALMON_ERA5
    if not path.is_file():
        raise DataError("file not found", source=str(path), variable="pr")
    grid = Grid(lat=tuple(mini["lat"].values), lon=tuple(mini["lon"].values))
    mask = basin_masks(read_outlines(shared_data / SALMON_OUTLINE), grid).values[0]
    days = mini["time"].sel(time=slice(None, mini.attrs.get("weather_end"))).values
    p_norm = mini["weather"].sel(channel="precip", time=days).values
    unit = ((p_norm + NORMALISATION["precip_mean_over_std"]) * mask).sum((1, 2)) / mask.sum()
    with xr.open_dataset(path) as era:
        if "pr" not in era:
            raise DataError("no precipitation", source=str(path), variable="pr", found=list(era))
        pr = era["pr"].reindex(time=days).values.astype(np.float64)
    ok = np.isfinite(pr)
    if ok.sum() < 300:
        raise DataError(
            "too few days overlap the mini weather",
            source=str(path),
            variable="pr",
            expected=">= 300 days",
            found=int(ok.sum()),
        )
    return float((unit[ok] * pr[ok]).sum() / (unit[ok] ** 2).sum())


def physical_weather(mini: xr.Dataset, scale_mm_day: float) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """De-normalised mini weather ``[day, lat, lon, (tmax, tmin, precip)]`` (K, mm/day).

    Temperatures use the METHODS.md section 1.3 constants; precipitation is
    ``scale_mm_day * (P_norm + P_mean / P_std)`` floored at zero.
    """
    n = NORMALISATION
    w = mini["weather"].sel(time=slice(None, mini.attrs.get("weather_end")))
    x = w.sel(channel=list(CHANNELS)).values.astype(np.float64)
    out = np.empty_like(x)
    out[..., 0] = x[..., 0] * n["tmax_std_K"] + n["tmax_mean_K"]
    out[..., 1] = x[..., 1] * n["tmin_std_K"] + n["tmin_mean_K"]
    out[..., 2] = np.maximum(scale_mm_day * (x[..., 2] + n["precip_mean_over_std"]), 0.0)
    return out, pd.DatetimeIndex(w["time"].values)


def _precip_scores(p: np.ndarray, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monthly quantile functions ``[12, N_LEVELS, cell]`` and normal scores of ``p[day, cell]``."""
    rng = np.random.default_rng(0)  # fixed: the fit is deterministic
    centres = _month_centres()
    near = _circular_gap(doy, centres) <= 15.5 + MONTH_WINDOW_DAYS
    levels = np.linspace(0.0, 1.0, N_LEVELS)
    quant = np.empty((12, N_LEVELS, p.shape[1]))
    month = pd.DatetimeIndex(pd.Timestamp("2001-01-01") + pd.to_timedelta(doy - 1, "D")).month
    z = np.empty_like(p)
    for m in range(12):
        sample = np.sort(p[near[:, m]], axis=0)
        quant[m] = np.quantile(sample, levels, axis=0, method="hazen")
        own = np.flatnonzero(np.asarray(month) == m + 1)
        n = sample.shape[0]
        for c in range(p.shape[1]):
            lo = np.searchsorted(sample[:, c], p[own, c], side="left")
            hi = np.searchsorted(sample[:, c], p[own, c], side="right")
            u = (lo + rng.uniform(size=own.size) * (hi - lo)) / n
            z[own, c] = ndtri(np.clip(u, 1e-6, 1 - 1e-6))
    return quant, z


def fit_weather(weather: np.ndarray, dates: pd.DatetimeIndex, lat, lon, scale: float) -> WeatherFit:  # noqa: ANN001
    """Fit the weather model to physical ``weather[day, lat, lon, (tmax, tmin, precip)]``."""
    n_day = weather.shape[0]
    if n_day < 365 or weather.shape[-1] != 3:
        raise DataError(
            "weather fit needs at least a year of [day, lat, lon, 3] fields",
            variable="weather",
            expected="[>=365, lat, lon, 3]",
            found=weather.shape,
        )
    doy = dates.day_of_year.to_numpy()
    cells = weather.reshape(n_day, -1, 3)
    h = _harmonics(doy, N_HARMONICS)
    hs = _harmonics(doy, N_SD_HARMONICS)
    mean_coef = np.empty((2, h.shape[1], cells.shape[1]))
    var_coef = np.empty((2, hs.shape[1], cells.shape[1]))
    z = np.empty_like(cells)
    for ch in range(2):
        mean_coef[ch] = np.linalg.lstsq(h, cells[..., ch], rcond=None)[0]
        resid = cells[..., ch] - h @ mean_coef[ch]
        var_coef[ch] = np.linalg.lstsq(hs, resid**2, rcond=None)[0]
        z[..., ch] = resid / _seasonal_sd(hs, var_coef[ch])
    quant, z[..., 2] = _precip_scores(cells[..., 2], doy)
    flat = np.concatenate([z[..., ch] for ch in range(3)], axis=1)
    flat -= flat.mean(axis=0)
    _, s, vt = np.linalg.svd(flat, full_matrices=False)
    share = np.cumsum(s**2) / np.sum(s**2)
    k = int(min(MAX_EOFS, np.searchsorted(share, EOF_VARIANCE) + 1))
    eofs = vt[:k]
    pcs = flat @ eofs.T
    season = _season(dates)[1:]
    a = np.empty((4, k, k))
    chol = np.empty((4, k, k))
    for q in range(4):
        now, before = pcs[1:][season == q], pcs[:-1][season == q]
        a[q] = np.linalg.lstsq(before, now, rcond=None)[0].T
        noise = now - before @ a[q].T
        chol[q] = np.linalg.cholesky(np.cov(noise, rowvar=False) + 1e-9 * np.eye(k))
    resid = flat - pcs @ eofs
    r_sd = resid.std(axis=0)
    r_phi = np.clip((resid[1:] * resid[:-1]).mean(axis=0) / np.maximum(r_sd**2, 1e-12), 0.0, 0.99)
    raw = WeatherFit(
        lat=np.asarray(lat, np.float64),
        lon=np.asarray(lon, np.float64),
        mean_coef=mean_coef,
        var_coef=var_coef,
        precip_quantiles=quant,
        eofs=eofs,
        var_a=a,
        var_noise_chol=chol,
        resid_sd=r_sd,
        resid_phi=r_phi,
        precip_scale_mm_day=float(scale),
    )
    scaled = replace(raw, season_scale=_season_scale(raw, flat, _season(dates)))
    target = float(lag1(month_anomalies(cells[..., 2], dates)).mean())
    return replace(scaled, precip_memory=_precip_memory(scaled, target))


def _precip_memory(fit: WeatherFit, target: float) -> float:
    """The share ``a`` of the latent precipitation kept in time order (see generate_weather).

    Mixing with an independent day-shuffled copy scales the latent lag-1 covariance by ``a^2``,
    and the lag-1 of amounts follows it closely (measured: a = 0.85 predicts 0.211, gives
    0.207), so ``a^2`` is the ratio of the real amounts' persistence (lag-1 of calendar-month
    anomalies, cell mean) to that of a long run of the unmixed model (fixed seed).
    """
    days = pd.date_range("2001-01-01", periods=int(_YEAR * SCALE_RUN_YEARS), freq="D")
    z = _anomalies(fit, days, np.random.default_rng(SCALE_RUN_SEED))
    p = _precip_from_scores(fit, days.day_of_year.to_numpy(), z.reshape(len(days), 3, -1)[:, 2])
    model = float(lag1(month_anomalies(p, days)).mean())
    return float(np.sqrt(np.clip(target / max(model, 1e-6), MIN_PRECIP_MEMORY**2, 1.0)))


def _season_scale(fit: WeatherFit, real: np.ndarray, season: np.ndarray) -> np.ndarray:
    """Per season and column: real latent sd over the model's (a long run with a fixed seed).

    The switching seasonal VAR(1) does not keep each season's variance exactly (the fit on two
    years overstates winter persistence); this factor restores the real seasonal variance.
    """
    days = pd.date_range("2001-01-01", periods=int(_YEAR * SCALE_RUN_YEARS), freq="D")
    model = _anomalies(fit, days, np.random.default_rng(SCALE_RUN_SEED))
    model_season = _season(days)
    out = np.ones((4, real.shape[1]))
    for q in range(4):
        ratio = real[season == q].std(axis=0) / model[model_season == q].std(axis=0)
        out[q] = np.clip(ratio, 0.5, 2.0)
    return out


def _season(dates: pd.DatetimeIndex) -> np.ndarray:
    """0 DJF, 1 MAM, 2 JJA, 3 SON."""
    return (dates.month.to_numpy() % 12) // 3


def _anomalies(fit: WeatherFit, dates: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Latent standardised anomalies ``[day, 3 * cell]`` (burn-in in the first day's season)."""
    n_day, k = len(dates), fit.eofs.shape[0]
    season = np.concatenate([np.full(_BURN_IN, _season(dates[:1])[0]), _season(dates)])
    shocks = rng.standard_normal((n_day + _BURN_IN, k))
    pcs = np.empty_like(shocks)
    prev = np.zeros(k)
    for d in range(shocks.shape[0]):
        q = season[d]
        prev = fit.var_a[q] @ prev + fit.var_noise_chol[q] @ shocks[d]
        pcs[d] = prev
    field = pcs[_BURN_IN:] @ fit.eofs
    white = rng.standard_normal((n_day + _BURN_IN, fit.resid_sd.size))
    phi = fit.resid_phi
    red = np.empty_like(white)
    red[0] = white[0]
    for d in range(1, white.shape[0]):
        red[d] = phi * red[d - 1] + np.sqrt(1.0 - phi**2) * white[d]
    out = field + fit.resid_sd * red[_BURN_IN:]
    if fit.season_scale is not None:
        out *= fit.season_scale[season[_BURN_IN:]]
    return out


def generate_weather(fit: WeatherFit, dates: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """Weather ``[day, lat, lon, (tmax, tmin, precip)]`` float32 (K, mm/day) for ``dates``.

    Tmin is capped 0.1 K below Tmax (the real fields never have Tmin above Tmax). The latent
    precipitation is ``a z + sqrt(1 - a^2) z[shuffled days]`` with ``a = fit.precip_memory``:
    the same spatial correlation and marginals, less day-to-day persistence (the Gaussian
    latent field alone makes amounts too persistent).
    """
    rng = np.random.default_rng(seed)
    n_day, n_cell = len(dates), fit.n_cells
    z = _anomalies(fit, dates, rng).reshape(n_day, 3, n_cell)
    if fit.precip_memory < 1.0:
        a = fit.precip_memory
        z[:, 2] = a * z[:, 2] + np.sqrt(1.0 - a**2) * z[rng.permutation(n_day), 2]
    doy = dates.day_of_year.to_numpy()
    h = _harmonics(doy, N_HARMONICS)
    hs = _harmonics(doy, N_SD_HARMONICS)
    out = np.empty((n_day, n_cell, 3), dtype=np.float32)
    for ch in range(2):
        sd = _seasonal_sd(hs, fit.var_coef[ch])
        out[..., ch] = h @ fit.mean_coef[ch] + sd * z[:, ch]
    out[..., 1] = np.minimum(out[..., 1], out[..., 0] - 0.1)
    out[..., 2] = _precip_from_scores(fit, doy, z[:, 2])
    return out.reshape(n_day, fit.lat.size, fit.lon.size, 3)


def _precip_from_scores(fit: WeatherFit, doy: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Precipitation ``[day, cell]`` from normal scores through the monthly quantile functions."""
    pos = ndtr(z) * (N_LEVELS - 1)
    lo = np.clip(np.floor(pos).astype(np.int64), 0, N_LEVELS - 2)
    frac = pos - lo
    cell = np.arange(z.shape[1])[None, :]
    before, after, w = _month_blend(doy)
    out = np.zeros_like(z)
    for months, weight in ((before, w), (after, 1.0 - w)):
        q = fit.precip_quantiles[months[:, None], lo, cell]
        q1 = fit.precip_quantiles[months[:, None], lo + 1, cell]
        out += weight[:, None] * (q + frac * (q1 - q))
    return np.maximum(out, 0.0)
