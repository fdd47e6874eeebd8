"""Acceptance measurements of the twin against the real region (docs/virtual_region.md).

Weather (:func:`weather_table`): per channel, real (mini 2010-2011) vs twin per-cell seasonal
(DJF/MAM/JJA/SON) mean and standard deviation, lag-1 autocorrelation of anomalies (daily values
minus the per-cell calendar-month mean), the correlation of anomalies between cell pairs in
distance bins, the Tmax-Tmin anomaly correlation, and for precipitation the wet-day (>= 1 mm)
fraction and the 90th/99th percentiles. Flow (:func:`flow_checks`): per-gauge correlation of
twin and real seasonal cycles, regime counts, adjusted Rand index of the twin's clusters against
the published ones and the per-basin water-balance residual; :func:`flow_magnitude` compares
mean flows with real WSC records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.metrics import adjusted_rand_score

from hydrointerp.data.twin_weather import SALMON_ERA5, SALMON_OUTLINE, lag1, month_anomalies
from hydrointerp.data.virtual import MM_DAY_KM2_TO_M3S, water_balance
from hydrointerp.data.virtual_terrain import EARTH_KM_PER_DEG
from hydrointerp.errors import DataError
from hydrointerp.io.grid import Grid, cell_area_km2
from hydrointerp.published import CHANNELS
from hydrointerp.training.cluster import seasonal_flow

SEASONS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}
DISTANCE_BINS_KM = (0.0, 150.0, 300.0, 600.0, 1200.0, 2500.0)
WET_MM = 1.0


def _distance_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    la, lo = la.ravel(), lo.ravel()
    dy = (la[:, None] - la[None, :]) * EARTH_KM_PER_DEG
    dx = (
        (lo[:, None] - lo[None, :])
        * EARTH_KM_PER_DEG
        * np.cos(np.deg2rad(0.5 * (la[:, None] + la[None, :])))
    )
    return np.hypot(dx, dy)


def channel_statistics(
    weather: np.ndarray, dates: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """The statistics of each channel of ``weather[day, lat, lon, channel]`` (see module doc)."""
    n_day = weather.shape[0]
    cells = weather.reshape(n_day, -1, weather.shape[-1]).astype(np.float64)
    dist = _distance_km(lat, lon)
    upper = np.triu_indices(dist.shape[0], k=1)
    bins = np.digitize(dist[upper], DISTANCE_BINS_KM) - 1
    month = dates.month.to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {}
    anomalies = {}
    for c, name in enumerate(CHANNELS):
        x = cells[..., c]
        stats: dict[str, np.ndarray] = {}
        for season, months in SEASONS.items():
            sel = np.isin(month, months)
            stats[f"mean_{season}"] = x[sel].mean(axis=0)
            stats[f"sd_{season}"] = x[sel].std(axis=0)
        a = month_anomalies(x, dates)
        anomalies[name] = a
        stats["lag1"] = lag1(a)
        corr = np.corrcoef(a, rowvar=False)[upper]
        stats["corr_by_distance"] = np.array(
            [corr[bins == b].mean() for b in range(len(DISTANCE_BINS_KM) - 1)]
        )
        if name == "precip":
            stats["wet_fraction"] = (x >= WET_MM).mean(axis=0)
            stats["p90"] = np.percentile(x, 90, axis=0)
            stats["p99"] = np.percentile(x, 99, axis=0)
        out[name] = stats
    a, b = anomalies["tmax"], anomalies["tmin"]
    coupling = (a * b).mean(axis=0) / (a.std(axis=0) * b.std(axis=0))
    out["tmax"]["tmax_tmin_corr"] = coupling
    out["tmax"]["dtr_mean"] = (cells[..., 0] - cells[..., 1]).mean(axis=0)
    return out


#: Tolerance per statistic: (kind, value); "abs" on the cell-mean difference, "rel" on the ratio
#: of cell means minus 1, "cell_abs" on the median over cells of the absolute difference.
TOLERANCES = {
    "mean": ("cell_abs", {"tmax": 1.0, "tmin": 1.0, "precip": 0.4}),
    "sd": ("rel", 0.10),
    "lag1": ("abs", 0.05),
    "corr_by_distance": ("abs", 0.10),
    "tmax_tmin_corr": ("abs", 0.05),
    "dtr_mean": ("abs", 0.5),
    "wet_fraction": ("abs", 0.03),
    "p90": ("rel", 0.10),
    "p99": ("rel", 0.15),
}


def weather_table(real: dict, twin: dict) -> pd.DataFrame:
    """Real vs twin, one row per channel and statistic, with the tolerance and a pass flag."""
    rows = []
    for ch in CHANNELS:
        for key, r in real[ch].items():
            t = twin[ch][key]
            base = key.split("_")[0] if key.startswith(("mean_", "sd_")) else key
            kind, tol = TOLERANCES[base]
            tol = tol[ch] if isinstance(tol, dict) else tol
            if key == "corr_by_distance":
                for i, (rv, tv) in enumerate(zip(r, t, strict=True)):
                    lo, hi = DISTANCE_BINS_KM[i], DISTANCE_BINS_KM[i + 1]
                    rows.append((ch, f"corr {lo:.0f}-{hi:.0f} km", rv, tv, abs(tv - rv), tol))
                continue
            if kind == "cell_abs":
                rows.append((ch, key, r.mean(), t.mean(), float(np.median(np.abs(t - r))), tol))
            elif kind == "rel":
                rows.append((ch, key, r.mean(), t.mean(), abs(t.mean() / r.mean() - 1.0), tol))
            else:
                rows.append((ch, key, r.mean(), t.mean(), abs(t.mean() - r.mean()), tol))
    table = pd.DataFrame(rows, columns=["channel", "statistic", "real", "twin", "error", "tol"])
    table["pass"] = table["error"] <= table["tol"]
    return table


def flow_checks(twin: xr.Dataset, real_season: xr.DataArray, published: xr.DataArray) -> dict:
    """Seasonal-cycle correlations, regime counts, ARI and water balance of ``twin``."""
    years = (int(twin.attrs["first_year"]), int(twin["time"].dt.year.values[-1]))
    season = seasonal_flow(twin, years).transpose("dayofyear", "station").values
    real = real_season.transpose("dayofyear", "station").values
    corr = np.array([np.corrcoef(season[:, i], real[:, i])[0, 1] for i in range(real.shape[1])])
    wb = water_balance(twin)
    rel = np.abs(wb["residual"].values) / wb["precip"].values
    return {
        "corr": corr,
        "corr_median": float(np.median(corr)),
        "share_corr_ge_0.7": float((corr >= 0.7).mean()),
        "regimes": {
            r: int((twin["regime"].values == r).sum()) for r in ("glacial", "nival", "pluvial")
        },
        "ari": float(adjusted_rand_score(published.values, twin["cluster"].values)),
        "water_balance_max_rel": float(rel.max()),
    }


def flow_magnitude(twin: xr.Dataset, wsc_csv: str | Path) -> pd.DataFrame:
    """Mean flow of the twin and of real WSC daily flows over their common days, with its causes.

    ``wsc_csv``: ``date`` column and one column per station id (``wsc_daily_flow`` layout);
    stations not in the twin are left out. Columns: ``real_m3s``, ``twin_m3s``, ``ratio``
    (twin / real), ``area_ratio`` (the twin's rasterised basin over ``area_km2``),
    ``precip_mm_day`` (the twin's basin-mean precipitation, ERA5 scale), ``real_q_over_p`` (the
    real runoff depth over ``area_km2`` divided by that precipitation: above 1, no evaporation
    setting reaches the real flow) and ``twin_q_over_p`` (the twin's runoff ratio).
    """
    path = Path(wsc_csv)
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    real = pd.read_csv(path, index_col=0, parse_dates=True)
    ids = [s for s in real.columns if s in set(map(str, twin["station"].values))]
    days = real.index.intersection(pd.DatetimeIndex(twin["time"].values))
    grid = Grid(lat=tuple(twin["lat"].values), lon=tuple(twin["lon"].values))
    weights = twin["basin_mask"] * cell_area_km2(grid).values
    precip = twin["weather"].sel(channel="precip", time=days).mean("time")
    rows = []
    for sid in ids:
        r = real.loc[days, sid]
        ok = r.notna().to_numpy()
        t = twin["flow"].sel(station=sid, time=days).values[ok]
        w = weights.sel(station=sid)
        area = float(w.sum())
        p = float((w * precip).sum()) / area
        real_mm = float(r[ok].mean()) / MM_DAY_KM2_TO_M3S / float(twin["area_km2"].sel(station=sid))
        twin_mm = float(t.mean()) / MM_DAY_KM2_TO_M3S / area
        rows.append(
            (
                sid,
                float(r[ok].mean()),
                float(t.mean()),
                area / float(twin["area_km2"].sel(station=sid)),
                p,
                real_mm / p,
                twin_mm / p,
            )
        )
    cols = [
        "station",
        "real_m3s",
        "twin_m3s",
        "area_ratio",
        "precip_mm_day",
        "real_q_over_p",
        "twin_q_over_p",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out.insert(3, "ratio", out["twin_m3s"] / out["real_m3s"])
    return out


def salmon_runoff_ratio(shared_data: Path, years: tuple[int, int] = (1981, 2010)) -> dict:
    """The Salmon River (08KC001) reference: real runoff depth over ERA5 and station precipitation.

    Mean observed flow (``qobs``, m3/s, missing values negative) over the outline's upstream
    area (``UP_AREA``, km2), divided by the basin-mean ERA5 and by the station (rain + snow)
    precipitation of the same years.
    """
    meteo = shared_data / "salmon_08KC001" / "Salmon-River-Near-Prince-George_meteo_daily.nc"
    for path in (meteo, shared_data / SALMON_ERA5, shared_data / SALMON_OUTLINE):
        if not path.is_file():
            raise DataError("file not found", source=str(path))
    area = float(json.loads((shared_data / SALMON_OUTLINE).read_text())["properties"]["UP_AREA"])
    span = slice(str(years[0]), str(years[1]))
    with xr.open_dataset(meteo) as m, xr.open_dataset(shared_data / SALMON_ERA5) as era:
        q = m["qobs"].sel(time=span)
        q_mm = float(q.where(q >= 0).mean()) / MM_DAY_KM2_TO_M3S / area
        station = float((m["rain"] + m["snow"]).sel(time=span).mean())
        era5 = float(era["pr"].sel(time=span).mean())
    return {
        "runoff_mm_day": q_mm,
        "era5_mm_day": era5,
        "station_mm_day": station,
        "q_over_era5": q_mm / era5,
        "q_over_station": q_mm / station,
    }
