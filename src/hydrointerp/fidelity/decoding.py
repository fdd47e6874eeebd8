"""Does Experiment 4 find glacier melt? Decoding the true melt from LSTM cell states.

The published procedure (:mod:`hydrointerp.experiments.cell_states`) selects units whose head
weights correlate with the stations' glacier fractions and reads a glacier-runoff-like pattern
from them. A unit can look like glacier melt only because it carries the seasonal cycle or
temperature memory, which glacier melt shares. This module asks the sharper question on a
virtual region, where the glacier melt is known: **how much of the true glacier melt can be
decoded from the cell states beyond what the seasonal cycle, temperature memory and snowmelt
explain?**

* Cell states over many years from **warm-started windows**: for every evaluation year the LSTM
  runs from ``lookback`` days before the year's first day, and only the states of the year's days
  are kept, so no state comes from the zero-started first steps of a window.
* Target: the glacial stations' mean z-scored true glacier melt (``glacial_melt``).
* Controls: two seasonal harmonics, the glacial basins' mean temperature and its 30-day trailing
  mean, 30-day positive-degree sum, and the true snowmelt of the same stations.
* Ridge regression with **leave-one-year-out** cross-validation; per held-out year the R² of
  controls alone and of controls + units, for unit sets: the published selection, all units,
  random units of the same count and the units of an untrained network of the same architecture.
  ``delta_r2`` (controls + units minus controls) is the melt information the units add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.linear_model import RidgeCV

from hydrointerp.errors import DataError
from hydrointerp.experiments.lstm_states import (
    cluster_members,
    record_cell_states,
    weight_glacier_correlation,
)
from hydrointerp.fidelity.randomise import randomised
from hydrointerp.fidelity.truth import glacial_melt

ALPHAS = np.logspace(-2, 4, 13)
UNIT_SETS = ("selected", "all_units", "random_units", "untrained")


def yearly_states(models: Sequence, frames: xr.DataArray, lookback: int) -> xr.DataArray:
    """Cell states ``(member, unit, time)`` over every full year of ``frames`` that has
    ``lookback`` days before it, each year from its own warm-started window."""
    time = pd.DatetimeIndex(frames["time"].values)
    out, days = [], []
    for year in sorted(set(time.year)):
        idx = np.flatnonzero(time.year == year)
        if idx[0] < lookback or idx.size < 360:
            continue
        window = frames.values[idx[0] - lookback : idx[-1] + 1]
        states = np.stack([record_cell_states(m, window)[lookback:].T for m in models])
        out.append(states)
        days.append(time[idx])
    if not out:
        raise DataError(
            "no full year with a look-back before it",
            variable="frames.time",
            expected=f">= {lookback} days before a full year",
            found=f"{time[0].date()}..{time[-1].date()}",
        )
    return xr.DataArray(
        np.concatenate(out, axis=-1),
        dims=("member", "unit", "time"),
        coords={"time": np.concatenate([np.asarray(d) for d in days])},
        name="cell_state",
    )


def controls(region: xr.Dataset, time: pd.DatetimeIndex, threshold: float = 0.01) -> np.ndarray:
    """``[T, 7]`` control predictors on ``time``: seasonal harmonics, the glacial basins'
    temperature, its 30-day mean and positive-degree sum, and the true snowmelt."""
    glacial = (region["glacier_fraction"] > threshold).values
    basin = region["basin_mask"].isel(station=glacial).sum("station") > 0
    chans = [str(c) for c in region["channel"].values]
    w = region["weather"].where(basin)
    tmean = w.sel(channel=[c for c in chans if c.startswith("t")]).mean(("lat", "lon", "channel"))
    t = tmean.to_series()
    pdd = (t - 273.15).clip(lower=0)
    snow = region["flow_component"].sel(component="snowmelt").isel(station=glacial)
    snow = ((snow - snow.mean("time")) / snow.std("time").where(snow.std("time") > 0)).mean(
        "station"
    )
    frame = pd.DataFrame(
        {
            "t": t,
            "t30": t.rolling(30, min_periods=1).mean(),
            "pdd30": pdd.rolling(30, min_periods=1).sum(),
            "snow": snow.to_series(),
        }
    ).reindex(time)
    doy = time.day_of_year.to_numpy()
    harm = [f(2 * np.pi * k * doy / 365.25) for k in (1, 2) for f in (np.sin, np.cos)]
    x = np.column_stack([*harm, frame.to_numpy(float)[:, :3], frame["snow"].to_numpy(float)])
    return np.nan_to_num(x)


def _cv_r2(x: np.ndarray, y: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Leave-one-year-out R² of a ridge fit of ``y`` on ``x`` (standardised in each fold)."""
    out = []
    for yr in np.unique(years):
        test = years == yr
        mu, sd = x[~test].mean(0), x[~test].std(0)
        sd = np.where(sd > 0, sd, 1.0)
        fit = RidgeCV(alphas=ALPHAS).fit((x[~test] - mu) / sd, y[~test])
        pred = fit.predict((x[test] - mu) / sd)
        ss = ((y[test] - y[test].mean()) ** 2).sum()
        out.append(1.0 - ((y[test] - pred) ** 2).sum() / ss if ss > 0 else np.nan)
    return np.asarray(out)


def decode_melt(
    models: Sequence,
    untrained: Sequence,
    frames: xr.DataArray,
    region: xr.Dataset,
    glacier_fraction: np.ndarray,
    lookback: int,
    p_threshold: float = 0.05,
    seed: int = 0,
) -> xr.Dataset:
    """Leave-one-year-out R² of the true glacier melt from controls and from controls + each
    unit set (module docstring); ``delta_r2(unit_set, year)`` is what the units add."""
    states = yearly_states(models, frames, lookback)
    time = pd.DatetimeIndex(states["time"].values)
    y = glacial_melt(region).sel(time=time).values
    ok = np.isfinite(y)
    years = time.year.to_numpy()[ok]
    ctrl = controls(region, time)[ok]
    pooled = states.values.reshape(-1, time.size).T[ok]  # [T, member * unit]
    selected = np.concatenate(
        [weight_glacier_correlation(m, glacier_fraction)[1] < p_threshold for m in models]
    )
    rng = np.random.default_rng(seed)
    n_sel = int(selected.sum())
    random_pick = rng.choice(pooled.shape[1], size=max(n_sel, 1), replace=False)
    dead = yearly_states(untrained, frames, lookback).values.reshape(-1, time.size).T[ok]
    sets = {
        "selected": pooled[:, selected] if n_sel else np.zeros((ok.sum(), 0)),
        "all_units": pooled,
        "random_units": pooled[:, random_pick],
        "untrained": dead[:, rng.choice(dead.shape[1], size=max(n_sel, 1), replace=False)],
    }
    base = _cv_r2(ctrl, y[ok], years)
    with_units = np.stack([_cv_r2(np.hstack([ctrl, sets[k]]), y[ok], years) for k in UNIT_SETS])
    year_index = np.unique(years)
    ds = xr.Dataset(
        {
            "r2_controls": ("year", base, {"long_name": "CV R2 of the controls alone"}),
            "r2": (("unit_set", "year"), with_units, {"long_name": "CV R2, controls + units"}),
            "delta_r2": (
                ("unit_set", "year"),
                with_units - base[None],
                {"long_name": "melt information the units add beyond the controls"},
            ),
        },
        coords={"unit_set": list(UNIT_SETS), "year": year_index},
    )
    ds.attrs.update(
        n_selected_units=n_sel,
        n_units=int(pooled.shape[1]),
        n_years=int(year_index.size),
        controls="2 seasonal harmonics, T, T 30-day mean, PDD 30 days, true snowmelt",
        cross_validation="leave one year out, ridge (RidgeCV)",
    )
    return ds


def decoding_from_inputs(
    inputs: object, region: xr.Dataset, cluster: int, seed: int = 0
) -> xr.Dataset:
    """:func:`decode_melt` for one cluster's models of the inputs' ensemble, on every full year
    of the inputs' frames, with an untrained copy of the same models as a control."""
    members, ids = cluster_members(inputs, cluster)  # type: ignore[arg-type]
    untrained = [randomised(m, "random_all", seed + 101 + i) for i, m in enumerate(members)]
    g = inputs.stations["glacier_fraction"].sel(station=ids).values  # type: ignore[attr-defined]
    ds = decode_melt(
        members,
        untrained,
        inputs.frames,
        region,
        g,
        inputs.lookback,
        seed=seed,  # type: ignore[attr-defined]
    )
    ds.attrs["cluster"] = int(cluster)
    return ds
