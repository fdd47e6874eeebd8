"""Experiment 3: the weather that drives streamflow rises (Frontiers, METHODS.md section 6.3).

For each station and season the days with the largest single-day increase of modelled
(ensemble-mean) normalised flow are the events; the weather anomalies (departure from the
day-of-year climatology of the normalised inputs) averaged over the station's region on the
antecedent days ``0..max_lag`` are composited over the events, per station and per regime, with
bootstrap confidence intervals and a permutation test against random days of the same season.

Open choices of the published method are settings (:class:`Drivers`). The climatology is
computed from the input days given: with the mini data that is 2010-2011 (two years), not the
1979-2015 record of the paper, so anomalies there are departures from a two-year mean.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import torch
import xarray as xr
from pydantic import Field, field_validator

from hydrointerp.errors import DataError
from hydrointerp.experiments.base import Experiment, Figure
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.warming import target_index
from hydrointerp.fidelity.curve_scores import score_drivers
from hydrointerp.plots.drivers import plot_driver_boxes, plot_summer_tmax_vs_glacier
from hydrointerp.predictor import Predictor

SEASONS: tuple[str, ...] = ("DJF", "MAM", "JJA", "SON")
_SEASON_OF_MONTH = {12: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3}
#: lag 0 is the last input day (t - 1) or the event day (t)
Antecedent = Literal["last_input", "target"]
#: the region whose weather is composited
Region = Literal["in_near", "basin", "cluster"]


class Drivers(Experiment):
    """Experiment 3: weather anomalies on the antecedent days of the largest modelled flow rises,
    per station, season and regime, with bootstrap intervals and a random-day test (every open
    choice of METHODS.md section 6.3 is a setting). Result: ``experiments/drivers.nc``.

    Attributes
    ----------
    antecedent
        Which day is lag 0: ``"last_input"`` (default; the last input day ``t - 1``, the most
        recent weather the model sees) or ``"target"`` (the event day ``t`` itself).
    max_lag
        Antecedent days ``0..max_lag``.
    region
        ``"in_near"`` (default; the station's in/near pixels, 1 deg), ``"basin"`` (cell fractions
        inside the basin; stations without an outline fall back to in/near) or ``"cluster"``
        (the union of the cluster's in/near pixels).
    top_fraction, n_events
        Events per station and season: ``n_events`` when given, else ``top_fraction`` of the
        season's days (published "328top" is about 10 % of 1980-2015 per season).
    period
        ``(first, last)`` dates of the event days; default all target days.
    n_boot, n_random, ci, seed
        Bootstrap resamples, random-day draws for the p-value, interval level and the seed.
    """

    name: ClassVar[str] = "drivers"
    title: ClassVar[str] = "Experiment 3: weather anomalies that drive streamflow rises"
    quick: ClassVar[dict[str, Any]] = {"n_boot": 200, "n_random": 200}
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_driver_boxes,
            "drivers_0antecedent",
            "Weather anomalies (Tmax, Tmin, P) on the days of the largest modelled flow rises, by"
            " season and regime, like Frontiers 0antecedent_328top.png.",
        ),
        Figure(
            plot_summer_tmax_vs_glacier,
            "drivers_summer_tmax",
            "Summer Tmax anomaly of the flow-rise days against glacier cover.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"drivers": score_drivers}

    antecedent: Antecedent = Field(
        "last_input", description="lag 0: last_input (t - 1) | target (t)"
    )
    max_lag: int = Field(3, ge=0, description="antecedent days 0..max_lag (days)")
    region: Region = Field("in_near", description="in_near | basin | cluster")
    top_fraction: float = Field(0.1, gt=0, le=1, description="share of a season's days as events")
    n_events: int | None = Field(None, ge=1, description="fixed events per season (None)")
    period: tuple[str, str] | None = Field(None, description="first, last event date (None: all)")

    @field_validator("period", mode="before")
    @classmethod
    def _iso_dates(cls, value: Any) -> Any:
        """Dates as YAML reads them (``2011-06-01`` unquoted) become ISO strings."""
        if isinstance(value, (list, tuple)):
            return tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in value)
        return value

    n_boot: int = Field(1000, ge=1, description="bootstrap resamples")
    n_random: int = Field(1000, ge=1, description="random-day draws of the p-value")
    ci: float = Field(0.95, gt=0, lt=1, description="interval level")
    seed: int = Field(0, description="seed of the bootstrap and random days")

    def to_attrs(self) -> dict:
        """The experiment's own settings as NetCDF attributes."""
        return {
            f"setting_{k}": "none" if v is None else (",".join(v) if isinstance(v, tuple) else v)
            for k, v in self.own_settings().items()
        }

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Experiment 3 on ``inputs``' predictor."""
        return drivers_experiment(
            inputs.predictor, inputs.frames, inputs.target_times, inputs.stations, self
        )


def season_index(times: pd.DatetimeIndex) -> np.ndarray:
    """0..3 (DJF, MAM, JJA, SON) of each day."""
    return np.array([_SEASON_OF_MONTH[m] for m in pd.DatetimeIndex(times).month])


def anomalies(frames: xr.DataArray) -> xr.DataArray:
    """Departure of ``frames(time, ...)`` from its day-of-year mean (same units)."""
    doy = frames["time"].dt.dayofyear
    clim = frames.groupby(doy).mean("time")
    out = frames.groupby(doy) - clim
    return out.drop_vars("dayofyear", errors="ignore").assign_attrs(
        long_name="day-of-year anomaly",
        climatology_years=sorted(set(frames["time"].dt.year.values)),
    )


def region_weights(stations: xr.Dataset, region: str = "in_near") -> xr.DataArray:
    """Averaging weights ``(station, lat, lon)`` summing to 1 per station."""
    near = stations["in_near"].astype(float)
    if region == "cluster":
        union = stations["in_near"].groupby(stations["cluster"]).any("station")
        w = union.sel(cluster=stations["cluster"]).drop_vars("cluster").astype(float)
    elif region == "basin" and "basin_mask" in stations:
        basin = stations["basin_mask"].astype(float)
        has = basin.sum(("lat", "lon")) > 0
        w = xr.where(has, basin, near)
    else:
        w = near
    total = w.sum(("lat", "lon"))
    if bool((total == 0).any()):
        bad = stations["station"].values[(total == 0).values][:5].tolist()
        raise DataError("stations with an empty region", variable=region, found=bad)
    return (w / total).transpose("station", "lat", "lon")


def regional_anomaly(frames: xr.DataArray, weights: xr.DataArray) -> xr.DataArray:
    """Region-mean anomaly ``(time, station, variable)`` of each channel."""
    anom = anomalies(frames)
    out = xr.dot(anom, weights, dim=("lat", "lon"))
    return out.rename(channel="variable").transpose("time", "station", "variable")


def flow_increase(flow: xr.DataArray) -> xr.DataArray:
    """Single-day increase ``q(t) - q(t - 1)`` (NaN on the first day)."""
    return flow - flow.shift(time=1)


def _events(rise: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    order = np.argsort(-rise[candidates], kind="stable")
    return candidates[order[:n]]


def _composite_stats(
    values: np.ndarray, null_pool: np.ndarray, st: Drivers, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """``values[n, lag, var]`` of the events, ``null_pool[m, lag, var]`` of the season's days:
    mean, bootstrap low/high and permutation p-value, each ``[lag, var]``."""
    n = len(values)
    mean = values.mean(axis=0)
    boot = values[rng.integers(0, n, (st.n_boot, n))].mean(axis=1)
    alpha = (1 - st.ci) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha], axis=0)
    draws = rng.random((st.n_random, len(null_pool))).argsort(axis=1)[:, :n]
    null = null_pool[draws].mean(axis=1)
    centre = null.mean(axis=0)
    extreme = np.abs(null - centre) >= np.abs(mean - centre)
    p = (1 + extreme.sum(axis=0)) / (st.n_random + 1)
    return mean, low, high, p


def drivers_from_flow(
    flow: xr.DataArray,
    frames: xr.DataArray,
    stations: xr.Dataset,
    settings: Drivers | None = None,
) -> xr.Dataset:
    """Experiment 3 from a given modelled flow ``(time, station)`` (normalised).

    Parameters
    ----------
    flow
        Ensemble-mean modelled flow on the target days (or the simulator's flow).
    frames
        Normalised input days ``(time, lat, lon, channel)``; also the climatology's period.
    stations
        ``in_near(station, lat, lon)``, ``cluster``, ``regime`` and ``glacier_fraction``
        ``(station)``; optional ``basin_mask``.
    settings
        :class:`Drivers`.

    Returns
    -------
    xarray.Dataset
        ``anomaly(season, station, variable, lag)``, ``anomaly_low``, ``anomaly_high``,
        ``p_value``, ``n_events(season, station)``, ``regime``/``glacier_fraction(station)``,
        ``regime_anomaly(season, regime, variable, lag)`` and the settings as attributes.
    """
    st = settings or Drivers()
    rng = np.random.default_rng(st.seed)
    ids = [str(s) for s in flow["station"].values]
    stn = stations.sel(station=ids)
    series = regional_anomaly(frames, region_weights(stn, st.region)).values
    times = pd.DatetimeIndex(flow["time"].values)
    day = target_index(frames, times) - (1 if st.antecedent == "last_input" else 0)
    lags = np.arange(st.max_lag + 1)
    rise = flow_increase(flow).transpose("time", "station").values
    ok = np.isfinite(rise).all(axis=1) & (day - st.max_lag >= 0) & (day < len(series))
    if st.period is not None:
        ok &= (times >= pd.Timestamp(st.period[0])) & (times <= pd.Timestamp(st.period[1]))
    season = season_index(times)
    shape = (len(SEASONS), len(ids), series.shape[2], len(lags))
    out = {k: np.full(shape, np.nan) for k in ("anomaly", "anomaly_low", "anomaly_high", "p_value")}
    n_ev = np.zeros(shape[:2], int)
    for q in range(len(SEASONS)):
        cand = np.flatnonzero(ok & (season == q))
        if len(cand) < 2:
            continue
        n = st.n_events or max(1, int(np.floor(st.top_fraction * len(cand))))
        n = min(n, len(cand))
        back = day[cand][:, None] - lags[None, :]  # [m, lag]
        for s in range(len(ids)):
            pool = series[back, s, :]  # [m, lag, var]
            events = np.searchsorted(cand, _events(rise[:, s], cand, n))
            stats_ = _composite_stats(pool[events], pool, st, rng)
            for key, val in zip(out, stats_, strict=True):
                out[key][q, s] = val.T
            n_ev[q, s] = n
    return _drivers_dataset(out, n_ev, ids, stn, frames, lags, st)


def _drivers_dataset(
    out: dict,
    n_ev: np.ndarray,
    ids: list,
    stn: xr.Dataset,
    frames: xr.DataArray,
    lags: np.ndarray,
    st: Drivers,
) -> xr.Dataset:
    dims = ("season", "station", "variable", "lag")
    ds = xr.Dataset(
        {k: (dims, v, {"units": "1"}) for k, v in out.items()},
        coords={
            "season": list(SEASONS),
            "station": ids,
            "variable": [str(c) for c in frames["channel"].values],
            "lag": lags,
        },
    )
    ds["anomaly"].attrs["long_name"] = "mean normalised weather anomaly on event days"
    ds["anomaly_low"].attrs["long_name"] = f"bootstrap {st.ci:.0%} interval, lower"
    ds["anomaly_high"].attrs["long_name"] = f"bootstrap {st.ci:.0%} interval, upper"
    ds["p_value"].attrs["long_name"] = "permutation p-value against random days of the season"
    ds["n_events"] = (("season", "station"), n_ev)
    ds["regime"] = ("station", np.asarray(stn["regime"].values, dtype=str))
    ds["glacier_fraction"] = ("station", stn["glacier_fraction"].values.astype(float))
    by_regime = ds["anomaly"].groupby(ds["regime"].rename("regime_name")).mean("station")
    ds["regime_anomaly"] = by_regime.rename(regime_name="regime_group")
    ds["lag"].attrs["long_name"] = f"antecedent day ({st.antecedent} = lag 0)"
    ds.attrs.update(
        experiment="drivers",
        **st.to_attrs(),
        climatology_years=",".join(str(y) for y in sorted(set(frames["time"].dt.year.values))),
    )
    return ds


def drivers_experiment(
    predictor: Predictor,
    frames: xr.DataArray,
    target_times: pd.DatetimeIndex,
    stations: xr.Dataset,
    settings: Drivers | None = None,
) -> xr.Dataset:
    """Experiment 3 on a predictor: predict the target days, then :func:`drivers_from_flow`."""
    times = pd.DatetimeIndex(target_times)
    targets = target_index(frames, times)
    first = int(targets.min()) - predictor.lookback
    days = np.asarray(frames.values[first : int(targets.max())], np.float32)
    flow = torch.as_tensor(predictor.predict_block(days[None], targets - first))[0].numpy()
    modelled = xr.DataArray(
        flow,
        dims=("time", "station"),
        coords={"time": times, "station": list(predictor.station_ids)},
        attrs={"units": "1", "long_name": "ensemble-mean normalised modelled flow"},
    )
    ds = drivers_from_flow(modelled, frames, stations, settings)
    ds["flow"] = modelled
    return ds
