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


def controls(
    region: xr.Dataset,
    time: pd.DatetimeIndex,
    threshold: float = 0.01,
    stations: np.ndarray | None = None,
) -> np.ndarray:
    """``[T, 7]`` control predictors on ``time``: seasonal harmonics, the glacial basins'
    temperature, its 30-day mean and positive-degree sum, and the true snowmelt (``stations``:
    a boolean mask choosing some of the glacial stations)."""
    glacial = (region["glacier_fraction"] > threshold).values
    if stations is not None:
        glacial = glacial & np.asarray(stations, bool)
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
    cover = _by_cover(region, time, ok, years, {k: sets[k] for k in COVER_SETS})
    gauges = _by_gauges(models, glacier_fraction, pooled, ctrl, y[ok], years, p_threshold, seed)
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
    ds = xr.merge([ds, cover, gauges])
    ds.attrs.update(
        n_selected_units=n_sel,
        n_units=int(pooled.shape[1]),
        n_years=int(year_index.size),
        controls="2 seasonal harmonics, T, T 30-day mean, PDD 30 days, true snowmelt",
        cross_validation="leave one year out, ridge (RidgeCV)",
    )
    return ds


#: unit sets decoded again on the melt of the low- and the high-cover half of the glacial gauges
COVER_SETS = ("selected", "all_units", "random_units")
#: draws of the glacial gauges kept for the selection (per number of gauges)
GAUGE_DRAWS = 5
#: fewest gauges (glacial and not) a head-weight correlation is computed over
MIN_STATIONS = 4


def _by_cover(
    region: xr.Dataset,
    time: pd.DatetimeIndex,
    ok: np.ndarray,
    years: np.ndarray,
    sets: dict[str, np.ndarray],
    threshold: float = 0.01,
) -> xr.Dataset:
    """ΔR² of each unit set on the true melt and controls of the low- and the high-cover half
    of the region's glacial gauges (split at the median glacier fraction): does the melt
    signal the units carry grow with glacier cover?"""
    g = np.asarray(region["glacier_fraction"].values, float)
    glacial = np.flatnonzero(g > threshold)
    year_index = np.unique(years)
    out = np.full((2, len(sets), year_index.size), np.nan)
    r2_base = np.full((2, year_index.size), np.nan)
    frac = np.full(2, np.nan)
    if glacial.size >= 2:
        order = glacial[np.argsort(g[glacial], kind="stable")]
        halves = (order[: order.size // 2], order[order.size // 2 :])
        for i, half in enumerate(halves):
            mask = np.zeros(g.size, bool)
            mask[half] = True
            frac[i] = float(g[half].mean())
            y = glacial_melt(region, threshold, mask).sel(time=time).values[ok]
            ctrl = controls(region, time, threshold, mask)[ok]
            fine = np.isfinite(y)
            base = _cv_r2(ctrl[fine], y[fine], years[fine])
            r2_base[i] = base
            for j, units in enumerate(sets.values()):
                x = np.hstack([ctrl, units])[fine]
                out[i, j] = _cv_r2(x, y[fine], years[fine]) - base
    return xr.Dataset(
        {
            "delta_r2_cover": (
                ("cover", "cover_unit_set", "year"),
                out,
                {"long_name": "units' gain on the melt of the low/high-cover glacial gauges"},
            ),
            "r2_controls_cover": (
                ("cover", "year"),
                r2_base,
                {"long_name": "CV R2 of the controls on the half's melt"},
            ),
            "cover_glacier_fraction": (
                "cover",
                frac,
                {"long_name": "mean glacier fraction of the half's gauges"},
            ),
        },
        coords={"cover": ["low", "high"], "cover_unit_set": list(sets), "year": year_index},
    )


def _by_gauges(
    models: Sequence,
    glacier_fraction: np.ndarray,
    pooled: np.ndarray,
    ctrl: np.ndarray,
    y: np.ndarray,
    years: np.ndarray,
    p_threshold: float,
    seed: int,
    threshold: float = 0.01,
) -> xr.Dataset:
    """ΔR² of the published selection made with only ``n`` of the cluster's glacial gauges
    (every non-glacial gauge kept; :data:`GAUGE_DRAWS` random draws of the ``n``): does the
    selection improve with the number of glacial gauges it sees?"""
    g = np.asarray(glacier_fraction, float)
    glacial = np.flatnonzero(g > threshold)
    others = int((g <= threshold).sum())
    counts = sorted({k for k in (1, 2, 4, 8, 16) if k < glacial.size} | {int(glacial.size)})
    # a correlation over fewer than MIN_STATIONS gauges selects nothing meaningful
    counts = [k for k in counts if k > 0 and k + others >= MIN_STATIONS]
    rng = np.random.default_rng(seed + 17)
    year_index = np.unique(years)
    out = np.full((len(counts), GAUGE_DRAWS, year_index.size), np.nan)
    rand = np.full_like(out, np.nan)
    n_sel = np.zeros((len(counts), GAUGE_DRAWS), int)
    base = _cv_r2(ctrl, y, years)
    for i, k in enumerate(counts):
        for d in range(GAUGE_DRAWS if k < glacial.size else 1):
            keep = g <= threshold
            keep[rng.choice(glacial, size=k, replace=False)] = True
            picked = np.concatenate(
                [weight_glacier_correlation(m, g, keep)[1] < p_threshold for m in models]
            )
            n_sel[i, d] = int(picked.sum())
            if picked.any():
                out[i, d] = _cv_r2(np.hstack([ctrl, pooled[:, picked]]), y, years) - base
                other = rng.choice(pooled.shape[1], size=n_sel[i, d], replace=False)
                rand[i, d] = _cv_r2(np.hstack([ctrl, pooled[:, other]]), y, years) - base
            else:
                out[i, d] = rand[i, d] = 0.0  # nothing selected: nothing added
    return xr.Dataset(
        {
            "delta_r2_gauges": (
                ("n_glacial_gauges", "gauge_draw", "year"),
                out,
                {"long_name": "gain of the selection made with n glacial gauges"},
            ),
            "delta_r2_gauges_random": (
                ("n_glacial_gauges", "gauge_draw", "year"),
                rand,
                {"long_name": "gain of random units of the same count as each selection"},
            ),
            "n_selected_gauges": (
                ("n_glacial_gauges", "gauge_draw"),
                n_sel,
                {"long_name": "units selected with n glacial gauges"},
            ),
        },
        coords={"n_glacial_gauges": counts, "year": year_index},
    )


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
