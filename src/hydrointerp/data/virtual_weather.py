"""Daily weather of the virtual region: Tmax/Tmin (K) and precipitation (mm/day).

Temperature: a sea-level climate cooled by latitude, elevation (lapse rate) and distance from the
sea, a seasonal cycle whose amplitude grows inland (continentality), a diurnal range that grows
inland and shrinks on wet days, and synoptic anomalies correlated in space and time.

Precipitation: westerly moist air loses moisture with every metre of ascent (rain shadows behind
the coast range and the Rockies), gains on windward slopes and with elevation, is winter-wet at
the coast and summer-wet on the plains, and falls on wet days chosen by a space-time correlated
driver, with amounts that keep the climatological mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri

from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.data.virtual_terrain import Terrain

KELVIN = 273.15
_BURN_IN = 60


def record_dates(cfg: VirtualRegionConfig) -> pd.DatetimeIndex:
    """Daily dates of the spin-up years plus ``n_years``."""
    first = cfg.start_year - cfg.spinup_years
    last = cfg.start_year + cfg.n_years - 1
    return pd.date_range(f"{first}-01-01", f"{last}-12-31", freq="D")


def correlated_noise(
    rng: np.random.Generator, shape: tuple[int, int, int], days: float, cells: float
) -> np.ndarray:
    """Unit-variance noise ``[time, lat, lon]``: Gaussian-smoothed in space, AR(1) in time."""
    white = rng.standard_normal((shape[0] + _BURN_IN, shape[1], shape[2]))
    if cells > 0:
        white = gaussian_filter(white, sigma=(0.0, cells, cells), mode="nearest")
    phi = float(np.exp(-1.0 / days))
    field = lfilter([np.sqrt(1.0 - phi**2)], [1.0, -phi], white, axis=0)[_BURN_IN:]
    field -= field.mean(axis=0)
    return field / np.maximum(field.std(axis=0), 1e-12)


def _seasonal(dates: pd.DatetimeIndex, peak_doy: float) -> np.ndarray:
    doy = dates.day_of_year.to_numpy(dtype=np.float64)
    return np.cos(2.0 * np.pi * (doy - peak_doy) / 365.25)[:, None, None]


def mean_precipitation(terrain: Terrain, cfg: VirtualRegionConfig) -> np.ndarray:
    """Annual-mean precipitation ``[lat, lon]`` (mm/day) with orography and rain shadows."""
    elev = terrain.elevation
    ascent = np.maximum(np.diff(elev, axis=1, prepend=elev[:, :1]), 0.0)
    ascent = np.where(terrain.land, ascent, 0.0)
    moisture = cfg.precip_floor + (1.0 - cfg.precip_floor) * np.exp(
        -np.cumsum(ascent, axis=1) / cfg.rain_shadow_m
    )
    windward = 1.0 + cfg.orographic_per_km * ascent / 1000.0
    high = 1.0 + cfg.elevation_per_km * elev / 1000.0
    return cfg.precip_coast_mm_day * moisture * windward * high


def _coastal_weight(terrain: Terrain) -> np.ndarray:
    return np.exp(-np.maximum(terrain.coast_distance, 0.0) / 0.15)


def precipitation(
    terrain: Terrain, cfg: VirtualRegionConfig, dates: pd.DatetimeIndex, rng: np.random.Generator
) -> np.ndarray:
    """Daily precipitation ``[time, lat, lon]`` in mm/day (zero on dry days)."""
    coastal = _coastal_weight(terrain)
    amp = cfg.seasonality_coast * coastal - cfg.seasonality_inland * (1.0 - coastal)
    season = 1.0 + amp * _seasonal(dates, 15.0)
    p_base = cfg.wet_prob_inland + (cfg.wet_prob_coast - cfg.wet_prob_inland) * coastal
    p_wet = np.clip(p_base * (1.0 + 0.5 * (season - 1.0)), 0.05, 0.95)
    threshold = ndtri(1.0 - p_wet)
    driver = correlated_noise(rng, (len(dates), *coastal.shape), cfg.precip_days, 2.0)
    mean_excess = np.exp(-0.5 * threshold**2) / np.sqrt(2 * np.pi) / ndtr(-threshold) - threshold
    amount = mean_precipitation(terrain, cfg) * season / p_wet / mean_excess
    return np.where(driver > threshold, amount * (driver - threshold), 0.0)


def temperatures(
    terrain: Terrain,
    cfg: VirtualRegionConfig,
    dates: pd.DatetimeIndex,
    wet: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily Tmax and Tmin ``[time, lat, lon]`` in K."""
    cont = terrain.continentality
    annual = (
        cfg.t_sea_level_c
        - cfg.lat_gradient_k_per_deg * (terrain.lat[:, None] - 52.0)
        - cfg.lapse_rate_k_per_km * terrain.elevation / 1000.0
        - cfg.continental_cooling_k * cont
    )
    amp = cfg.seasonal_amp_coast_k + (cfg.seasonal_amp_inland_k - cfg.seasonal_amp_coast_k) * cont
    anomaly = correlated_noise(rng, (len(dates), *cont.shape), cfg.anomaly_days, cfg.anomaly_cells)
    anomaly_sd = cfg.anomaly_sd_k * (0.5 + 0.5 * cont)  # maritime climates vary less
    mean = annual - amp * _seasonal(dates, 20.0) + anomaly_sd * anomaly
    dtr = (
        cfg.diurnal_range_coast_k + (cfg.diurnal_range_inland_k - cfg.diurnal_range_coast_k) * cont
    )
    dtr = np.where(wet, dtr * cfg.wet_day_range_factor, dtr)
    return mean + 0.5 * dtr + KELVIN, mean - 0.5 * dtr + KELVIN


def make_weather(
    terrain: Terrain, cfg: VirtualRegionConfig, dates: pd.DatetimeIndex, rng: np.random.Generator
) -> np.ndarray:
    """Weather ``[time, lat, lon, channel]`` (tmax K, tmin K, precip mm/day) as float32."""
    precip = precipitation(terrain, cfg, dates, rng)
    tmax, tmin = temperatures(terrain, cfg, dates, precip > 0, rng)
    return np.stack([tmax, tmin, precip], axis=-1).astype(np.float32)
