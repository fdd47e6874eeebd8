"""Plausibility checks of daily ERA5 weather (K, K, mm/day), naming the file at fault.

Each failure is a :class:`~hydrointerp.errors.DataError` naming the file, the variable, the day,
what was expected and what was found (see ``docs/data_sources.md``):

* a missing (NaN) hour of ``t2m`` or step of ``tp`` makes its day missing, never skipped or 0 mm:
  a day with any missing step is an error;
* every daily value must lie in :data:`PLAUSIBLE` (per channel, after conversion to K and
  mm/day), which no real ERA5 field leaves; values that would fit after another units
  conversion are reported as a wrong ``units`` attribute (Kelvin labelled ``degC``);
* a record of at least :data:`MIN_DAYS_FOR_WETTEST` days whose wettest day in any cell is under
  :data:`MIN_WETTEST_MM` is precipitation in metres labelled ``mm`` (checked by
  :func:`check_precip_units` once the values are loaded).

``ranges=`` (or ``era5.ranges`` in the build-region config) overrides a channel's range on
purpose, e.g. ``{"precip": (0, 2500)}``; a ``min_wettest_mm`` of 0 turns the last check off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.region import CHANNEL_UNITS
from hydrointerp.errors import DataError
from hydrointerp.io.era5_days import day_lead

#: Plausible daily values per channel after conversion (K, K, mm/day): beyond every ERA5 field
#: (ERA5's coldest 2 m temperatures are about 185 K, its hottest about 330 K; its wettest cell-day
#: stays well under 1000 mm).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "tmax": (170.0, 340.0),
    "tmin": (170.0, 340.0),
    "precip": (0.0, 1000.0),
}
#: A record this long (days) whose wettest cell-day is under MIN_WETTEST_MM has wrong units.
MIN_DAYS_FOR_WETTEST = 90
MIN_WETTEST_MM = 0.5
_SOURCE_VARIABLE = {"hourly": {"tmax": "t2m", "tmin": "t2m", "precip": "tp"}}
_SOURCE_VARIABLE["published"] = _SOURCE_VARIABLE["hourly"]
_SOURCE_VARIABLE["daily"] = {"tmax": "tmax", "tmin": "tmin", "precip": "tp"}

FileSpan = tuple[str, pd.Timestamp, pd.Timestamp, tuple[str, ...]]  # path, steps, quantities


def check_ranges(ranges: dict[str, tuple[float, float]] | None) -> None:
    """Refuse ``ranges`` naming an unknown channel or giving ``low > high``."""
    unknown = sorted(set(ranges or {}) - set(PLAUSIBLE))
    if unknown:
        raise DataError(
            "unknown channel in ranges", variable="ranges", expected=list(PLAUSIBLE), found=unknown
        )
    for channel, (lo, hi) in (ranges or {}).items():
        if not lo <= hi:
            raise DataError(
                "reversed range",
                variable=f"ranges.{channel}",
                expected="low <= high",
                found=[lo, hi],
            )


def file_spans(parts: Sequence[xr.Dataset], files: Sequence[Path]) -> list[FileSpan]:
    """Which file holds which steps and quantities (to name the file of a bad value)."""
    spans = []
    for path, part in zip(files, parts, strict=True):
        times = pd.DatetimeIndex(part["time"].values)
        if len(times):
            spans.append((str(path), times.min(), times.max(), tuple(map(str, part.data_vars))))
    return spans


def _files_of(spans: Sequence[FileSpan], day: pd.Timestamp, quantity: str, recipe: str) -> str:
    """The file(s) holding ``quantity`` for the steps of ``day`` under ``recipe``."""
    start = day + day_lead(recipe)
    end = start + pd.Timedelta(days=1)
    hit = [p for p, first, last, qs in spans if quantity in qs and first < end and last >= start]
    return ", ".join(hit) if hit else ", ".join(p for p, *_ in spans[:5])


def _units_hint(channel: str, value: float, lo: float, hi: float) -> str:
    """Why a value may be out of range: a units attribute that does not fit the values."""
    if channel == "precip":
        if lo <= value / 1000.0 <= hi:
            return " (values look like mm labelled m: 1000x too large)"
        return ""
    if lo <= value - 273.15 <= hi:
        return " (values look like Kelvin labelled degC)"
    if lo <= value + 273.15 <= hi:
        return " (values look like degC labelled K)"
    return ""


def _where(block: xr.DataArray, flat_index: int) -> tuple[pd.Timestamp, str]:
    """Day and cell of the ``flat_index``-th value of one channel of ``block``."""
    t, i, j = np.unravel_index(flat_index, block.shape[:3])
    day = pd.Timestamp(block["time"].values[t])
    return day, f"{day.date()} at lat {float(block['lat'][i]):g}, lon {float(block['lon'][j]):g}"


def check_block(
    block: xr.DataArray,
    spans: Sequence[FileSpan],
    recipe: str,
    ranges: dict[str, tuple[float, float]] | None = None,
) -> xr.DataArray:
    """Refuse missing days and implausible values in (a block of) daily weather; return it.

    Parameters
    ----------
    block
        ``weather(time, lat, lon, channel)`` in K and mm/day (numpy-backed).
    spans
        The files read, with their days and quantities (to name the file at fault).
    recipe
        The daily recipe (which ERA5 variable each channel comes from).
    ranges
        Per-channel ``(low, high)`` overriding :data:`PLAUSIBLE`.

    Raises
    ------
    DataError
        Naming the file, the ERA5 variable and channel, the day and cell, expected and found.
    """
    limits = {**PLAUSIBLE, **(ranges or {})}
    for k, channel in enumerate(str(c) for c in block["channel"].values):
        values = np.asarray(block.values[..., k])
        quantity = _SOURCE_VARIABLE[recipe][channel]
        variable = f"{quantity} (channel {channel})"
        unit = CHANNEL_UNITS[channel]
        nan = np.isnan(values)
        if nan.any():
            day, where = _where(block, int(np.flatnonzero(nan)[0]))
            raise DataError(
                "missing ERA5 values: a day with a missing (NaN) step is neither skipped nor"
                " filled",
                source=_files_of(spans, day, quantity, recipe),
                variable=variable,
                expected="a value at every step of every day",
                found=f"{int(nan.sum())} missing cell-days, the first on {where}",
            )
        lo, hi = limits[channel]
        bad = (values < lo) | (values > hi)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            value = float(values.reshape(-1)[index])
            day, where = _where(block, index)
            raise DataError(
                f"implausible {channel} after conversion to {unit}"
                + _units_hint(channel, value, lo, hi),
                source=_files_of(spans, day, quantity, recipe),
                variable=variable,
                expected=f"[{lo:g}, {hi:g}] {unit} (to allow more on purpose: era5.ranges)",
                found=f"{value:.6g} {unit} on {where} ({int(bad.sum())} values outside)",
            )
    return block


def check_precip_units(
    weather: xr.DataArray, min_wettest_mm: float = MIN_WETTEST_MM
) -> xr.DataArray:
    """Refuse a long record whose wettest cell-day is under ``min_wettest_mm`` (metres as mm).

    Run on loaded weather (it needs the whole record); ``min_wettest_mm=0`` turns it off.
    """
    if weather.sizes["time"] < MIN_DAYS_FOR_WETTEST or min_wettest_mm <= 0:
        return weather
    wettest = float(weather.sel(channel="precip").max())
    if wettest < min_wettest_mm:
        raise DataError(
            "precipitation far too small: the units attribute does not fit the values"
            " (metres labelled mm?)",
            source=str(weather.attrs.get("sources", "")),
            variable="tp (channel precip)",
            expected=f"a wettest day of at least {min_wettest_mm:g} mm in"
            f" {weather.sizes['time']} days (to allow less on purpose: era5.min_wettest_mm)",
            found=f"{wettest:.3g} mm",
        )
    return weather


def checked(
    weather: xr.DataArray,
    spans: Sequence[FileSpan],
    recipe: str,
    ranges: dict[str, tuple[float, float]] | None,
) -> xr.DataArray:
    """Attach :func:`check_block` to every block (lazily for dask-backed weather)."""
    kwargs = {"spans": spans, "recipe": recipe, "ranges": ranges}
    if weather.chunks is None:
        return check_block(weather, **kwargs)
    whole = weather.chunk({"channel": -1})  # one block holds all channels: tmax reported first
    return xr.map_blocks(check_block, whole, kwargs=kwargs, template=whole)
