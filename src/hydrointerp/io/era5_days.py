"""ERA5 daily recipes: how hourly (or 6-hourly, or daily) steps become ``tmax, tmin, precip`` days.

``"hourly"`` (default)
    Needs hourly input. ERA5 ``tp`` at time *t* is the accumulation of the hour ending at *t*, so
    day *D* is the 24 steps 01 UTC of *D* ... 00 UTC of *D + 1*: P is their sum, Tmax/Tmin the
    max/min of the same 24 ``t2m`` values.
``"published"``
    METHODS.md section 1.2: the four 00/06/12/18 UTC steps of each UTC day; Tmax/Tmin = max/min of
    the four ``t2m`` values, P = the sum of the four ``tp`` values (four one-hour accumulations, as
    the published preprocessing did). Works on hourly or 6-hourly input.
``"daily"``
    Input already holds daily statistics: ``tmax``/``tmin`` (or ``mx2t``/``mn2t``, ``tasmax``/
    ``tasmin``) and daily precipitation.

Incomplete days at either end are dropped with a :class:`IncompleteDayWarning`; a gap inside the
record is a :class:`~hydrointerp.errors.DataError`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.region import CHANNELS
from hydrointerp.errors import DataError

Recipe = Literal["hourly", "published", "daily"]
RECIPES: tuple[str, ...] = ("hourly", "published", "daily")

#: The time step each recipe works on.
STEP = {"hourly": pd.Timedelta(hours=1), "published": pd.Timedelta(hours=6)}
STEP["daily"] = pd.Timedelta(days=1)
_PER_DAY = {"hourly": 24, "published": 4, "daily": 1}


class IncompleteDayWarning(UserWarning):
    """Time steps at the start or end of the record that do not make a whole day were dropped."""


def day_lead(recipe: str) -> pd.Timedelta:
    """How long after 00 UTC of its label day a recipe's day starts (01 UTC for ``hourly``)."""
    return pd.Timedelta(hours=1) if recipe == "hourly" else pd.Timedelta(0)


def _check_time(ds: xr.Dataset, recipe: str, sources: str) -> xr.Dataset:
    """Select the recipe's steps and check the time axis is regular and gap-free."""
    times = pd.DatetimeIndex(ds["time"].values)
    if recipe == "published":
        keep = np.isin(times.hour, (0, 6, 12, 18)) & (times.minute == 0)
        ds = ds.isel(time=np.flatnonzero(keep))
        times = times[keep]
    elif recipe == "daily":
        ds = ds.assign_coords(time=times.normalize())
        times = times.normalize()
    if len(times) < _PER_DAY[recipe]:
        raise DataError(
            "too few time steps for one day",
            source=sources,
            variable="time",
            expected=f">= {_PER_DAY[recipe]} steps of {STEP[recipe]}",
            found=f"{len(times)} steps",
        )
    steps = np.diff(times.values)
    bad = np.flatnonzero(steps != STEP[recipe].to_timedelta64())
    if bad.size:
        i = int(bad[0])
        problem = "gap in time" if steps[i] > STEP[recipe].to_timedelta64() else "irregular time"
        raise DataError(
            f"{problem} (recipe {recipe!r})",
            source=sources,
            variable="time",
            expected=f"steps of {STEP[recipe]}",
            found=f"{times[i]} followed by {times[i + 1]}",
        )
    return ds


def _whole_days(ds: xr.Dataset, recipe: str, sources: str) -> tuple[xr.Dataset, pd.DatetimeIndex]:
    """Trim to whole days; return the trimmed steps and the day labels."""
    times = pd.DatetimeIndex(ds["time"].values)
    per_day = _PER_DAY[recipe]
    lead = day_lead(recipe)
    starts = np.flatnonzero((times - lead) == (times - lead).normalize())
    if starts.size == 0:
        raise DataError(
            "no day starts in the record",
            source=sources,
            variable="time",
            expected="a step at 01 UTC" if recipe == "hourly" else "a step at 00 UTC",
            found=f"{times[0]} ... {times[-1]}",
        )
    first = int(starts[0])
    n_days = (len(times) - first) // per_day
    last = first + n_days * per_day
    if n_days == 0:
        raise DataError(
            "no complete day in the record",
            source=sources,
            variable="time",
            expected=f"{per_day} steps per day",
            found=f"{len(times)} steps from {times[0]}",
        )
    if first or last < len(times):
        warnings.warn(
            f"ERA5 ({recipe} recipe): dropped {first} step(s) before {times[first]} and "
            f"{len(times) - last} after {times[last - 1]} that do not make whole days",
            IncompleteDayWarning,
            stacklevel=3,
        )
    days = (times[first:last:per_day] - lead).normalize()
    return ds.isel(time=slice(first, last)), pd.DatetimeIndex(days)


def daily_weather(ds: xr.Dataset, recipe: str, sources: str) -> xr.DataArray:
    """Steps of ``t2m``/``tp`` (K, mm per step) -> ``weather(time, lat, lon, channel)`` days.

    Parameters
    ----------
    ds
        ``t2m`` and ``tp`` (or ``tmax``, ``tmin``, ``tp`` for ``"daily"``) on ``(time, lat, lon)``.
    recipe
        ``"hourly"``, ``"published"`` or ``"daily"`` (see the module docstring).
    sources
        The files read, named in errors.

    Raises
    ------
    DataError
        Too few steps, a gap or an irregular step, no whole day.
    """
    ds = _check_time(ds, recipe, sources)
    ds, days = _whole_days(ds, recipe, sources)
    per_day = _PER_DAY[recipe]
    if recipe == "daily":
        tmax, tmin, precip = ds["tmax"], ds["tmin"], ds["tp"]
    else:
        blocks = ds.coarsen(time=per_day)
        # NumPy's reductions keep NaN: a missing step makes its day missing (reported by the
        # checks), never a maximum of the other hours or a 0 mm day
        tmax = blocks.reduce(np.max)["t2m"]
        tmin = blocks.reduce(np.min)["t2m"]
        precip = blocks.reduce(np.sum)["tp"]
    parts = [v.drop_vars("time").assign_coords(time=days) for v in (tmax, tmin, precip)]
    weather = xr.concat(parts, dim=xr.DataArray(list(CHANNELS), dims="channel", name="channel"))
    return weather.transpose("time", "lat", "lon", "channel")
