"""ERA5 single-level NetCDF -> daily ``weather(time, lat, lon, channel)`` in K and mm/day.

Reads one or many files lazily (xarray + dask). Variables are found by short name (``t2m``,
``tp``), by the shared sample's names (``tas``, ``pr``) or by long name (``2 metre temperature``,
``Total precipitation``); units are read from the ``units`` attribute and converted. Either time
coordinate name (``time`` or CDS's newer ``valid_time``), with or without ``expver``/``number``;
longitudes 0..360 or -180..180; latitudes in any order.

Recipes (how hourly steps become days):

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

Checks (each failure is a :class:`~hydrointerp.errors.DataError` naming the file, the variable,
the day, what was expected and what was found; see ``docs/data_sources.md``):

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

Regridding to the study grid (or a user :class:`~hydrointerp.io.grid.Grid`):

* otherwise, target centres that are all source centres: nearest-neighbour selection (a crop);
* a target coarser than the source (step > 1.5x): "conservative" - each target cell is the mean
  of the source cells weighted by the share of the target cell each one covers (separately in
  lat and lon, in degrees; cells are not weighted by cos(lat));
* otherwise: bilinear interpolation (``xarray.DataArray.interp``).

Days are aggregated on the source grid (cropped to the target's extent) before regridding, so
Tmax is the regridded daily maximum, not the maximum of regridded hours.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.errors import DataError
from hydrointerp.io.files import expand_paths
from hydrointerp.io.grid import Grid
from hydrointerp.published import CHANNEL_UNITS, CHANNELS

Recipe = Literal["hourly", "published", "daily"]
RECIPES: tuple[str, ...] = ("hourly", "published", "daily")

# name candidates per quantity: (variable names, long names) - names win over long names
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "t2m": (("t2m", "2t", "tas", "t2"), ("2 metre temperature", "2m temperature")),
    "tp": (("tp", "pr", "precip", "precipitation"), ("total precipitation",)),
    "tmax": (
        ("tmax", "mx2t", "tasmax", "t2m_max", "mx2t24"),
        ("maximum temperature at 2 metres since previous post-processing",),
    ),
    "tmin": (
        ("tmin", "mn2t", "tasmin", "t2m_min", "mn2t24"),
        ("minimum temperature at 2 metres since previous post-processing",),
    ),
}
_TIME_NAMES = ("valid_time", "time")
_LAT_NAMES = ("latitude", "lat")
_LON_NAMES = ("longitude", "lon")

_TEMP_OFFSET = {"k": 0.0, "kelvin": 0.0, "degk": 0.0, "degreesk": 0.0}
_TEMP_OFFSET |= dict.fromkeys(
    ("degc", "c", "celsius", "deg_c", "degreesc", "degree_celsius", "degrees_celsius"), 273.15
)
# precipitation amounts: mm per unit
_PRECIP_AMOUNT = {"m": 1000.0, "mofwaterequivalent": 1000.0, "mm": 1.0, "kgm-2": 1.0}
_PRECIP_AMOUNT |= {"kg/m2": 1.0, "mmofwaterequivalent": 1.0}
# precipitation rates: mm per second per unit
_PRECIP_RATE = {"kgm-2s-1": 1.0, "mms-1": 1.0, "mm/s": 1.0, "ms-1": 1000.0, "m/s": 1000.0}
_PRECIP_RATE |= dict.fromkeys(("mmh-1", "mm/h", "mm/hr", "mmhr-1"), 1 / 3600)
_PRECIP_RATE |= dict.fromkeys(("mmd-1", "mm/d", "mm/day", "mmday-1"), 1 / 86400)
_PRECIP_RATE |= dict.fromkeys(("md-1", "m/d", "m/day", "mday-1"), 1000 / 86400)

#: Negative precipitation above this (mm per step) is int16 packing noise and becomes 0.
PACKING_NOISE_MM = 0.01
_STEP = {"hourly": pd.Timedelta(hours=1), "published": pd.Timedelta(hours=6)}
_STEP["daily"] = pd.Timedelta(days=1)
_PER_DAY = {"hourly": 24, "published": 4, "daily": 1}


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


class IncompleteDayWarning(UserWarning):
    """Time steps at the start or end of the record that do not make a whole day were dropped."""


def _canon_unit(unit: str) -> str:
    u = unit.strip().lower()
    for old, new in (("**", ""), ("^", ""), (" ", ""), ("·", ""), ("°", "deg")):
        u = u.replace(old, new)
    return u


def _open_one(path: Path, chunks: dict[str, int]) -> xr.Dataset:
    if not path.is_file():
        raise DataError("file not found", source=str(path), variable="ERA5")
    try:
        ds = xr.open_dataset(path, chunks={})
        time_chunks = {k: v for k, v in chunks.items() if k in ds.dims}
        if "time" in chunks and "valid_time" in ds.dims:
            time_chunks.setdefault("valid_time", chunks["time"])
        return ds.chunk(time_chunks) if time_chunks else ds
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataError(
            f"cannot read NetCDF ({type(exc).__name__}: {exc})",
            source=str(path),
            variable="ERA5",
            expected="a NetCDF file",
            found="unreadable bytes",
        ) from exc


def _find(ds: xr.Dataset, quantity: str) -> str | None:
    names, long_names = _NAMES[quantity]
    lower = {str(v).lower(): str(v) for v in ds.data_vars}
    for name in names:
        if name in lower:
            return lower[name]
    for v in ds.data_vars:
        if str(ds[v].attrs.get("long_name", "")).strip().lower() in long_names:
            return str(v)
    return None


def _rename_axes(
    ds: xr.Dataset, source: str, location: tuple[float, float] | None = None
) -> xr.Dataset:
    """Rename to ``time``/``lat``/``lon``, collapse ``expver``/``number``, make lat/lon dims."""
    for names, target in ((_TIME_NAMES, "time"), (_LAT_NAMES, "lat"), (_LON_NAMES, "lon")):
        found = next((n for n in names if n in ds.variables), None)
        if found is None and location is not None and target != "time":
            ds = ds.assign_coords({target: location[0] if target == "lat" else location[1]})
            continue
        if found is None:
            raise DataError(
                "missing coordinate",
                source=source,
                variable=target,
                expected=f"one of {list(names)}",
                found=sorted(str(v) for v in ds.variables),
            )
        if found != target:
            if target in ds.variables:
                ds = ds.drop_vars(target)
            ds = ds.rename({found: target})
    ds = _collapse_expver(ds)
    ds = _collapse_number(ds, source)
    for axis in ("lat", "lon"):
        if axis not in ds.dims:
            ds = ds.expand_dims(axis)
    return ds


def _collapse_expver(ds: xr.Dataset) -> xr.Dataset:
    """ERA5 vs ERA5T: take the first non-missing experiment version at each step."""
    if "expver" in ds.dims:
        merged = ds.isel(expver=0)
        for k in range(1, ds.sizes["expver"]):
            merged = merged.fillna(ds.isel(expver=k))
        return merged.drop_vars("expver", errors="ignore")
    return ds.drop_vars("expver", errors="ignore")


def _collapse_number(ds: xr.Dataset, source: str) -> xr.Dataset:
    if "number" in ds.dims:
        if ds.sizes["number"] != 1:
            raise DataError(
                "ensemble members found; give one member per file",
                source=source,
                variable="number",
                expected="1 member",
                found=f"{ds.sizes['number']} members",
            )
        ds = ds.isel(number=0)
    return ds.drop_vars("number", errors="ignore")


def _temperature(da: xr.DataArray, source: str, variable: str) -> xr.DataArray:
    unit = str(da.attrs.get("units", ""))
    if _canon_unit(unit) not in _TEMP_OFFSET:
        raise DataError(
            "unknown temperature units",
            source=source,
            variable=variable,
            expected="K or degC",
            found=unit or "no units attribute",
        )
    return (da + _TEMP_OFFSET[_canon_unit(unit)]).astype(np.float32)


def _precip(da: xr.DataArray, source: str, variable: str, step: pd.Timedelta) -> xr.DataArray:
    """Precipitation as mm per time step (amounts as stored, rates times the step)."""
    unit = str(da.attrs.get("units", ""))
    canon = _canon_unit(unit)
    if canon in _PRECIP_AMOUNT:
        return _clip_packing_noise((da * _PRECIP_AMOUNT[canon]).astype(np.float32))
    if canon in _PRECIP_RATE:
        scale = _PRECIP_RATE[canon] * step.total_seconds()
        return _clip_packing_noise((da * scale).astype(np.float32))
    raise DataError(
        "unknown precipitation units",
        source=source,
        variable=variable,
        expected="m, mm, kg m-2 (amounts) or kg m-2 s-1, mm/day (rates)",
        found=unit or "no units attribute",
    )


def _clip_packing_noise(mm: xr.DataArray) -> xr.DataArray:
    """Set tiny negative amounts (> -PACKING_NOISE_MM, from int16 packing) to 0.

    Larger negative values are kept, so RegionData validation reports them.
    """
    return xr.where((mm < 0) & (mm > -PACKING_NOISE_MM), np.float32(0), mm, keep_attrs=True)


def _file_step(ds: xr.Dataset, recipe: str) -> pd.Timedelta:
    times = pd.DatetimeIndex(ds["time"].values)
    if len(times) > 1:
        return pd.Timedelta(np.median(np.diff(times.values)))
    return _STEP[recipe]


def _standardise(
    ds: xr.Dataset, source: str, recipe: str, location: tuple[float, float] | None = None
) -> xr.Dataset:
    """One file -> Dataset of ``t2m``/``tp`` (or ``tmax``/``tmin``/``tp``) in K and mm per step."""
    ds = _rename_axes(ds, source, location)
    wanted = ("tmax", "tmin", "tp") if recipe == "daily" else ("t2m", "tp")
    step = _file_step(ds, recipe)
    out = {}
    for quantity in wanted:
        name = _find(ds, quantity)
        if name is None:
            continue
        da = ds[name]
        if quantity == "tp":
            out[quantity] = _precip(da, source, name, step)
        else:
            out[quantity] = _temperature(da, source, name)
    result = xr.Dataset(out)
    return result.transpose("time", "lat", "lon")


def _require(ds: xr.Dataset, recipe: str, sources: str) -> None:
    wanted = ("tmax", "tmin", "tp") if recipe == "daily" else ("t2m", "tp")
    for quantity in wanted:
        if quantity not in ds:
            names, long_names = _NAMES[quantity]
            raise DataError(
                "missing variable",
                source=sources,
                variable=quantity,
                expected=f"a variable named {list(names)} or long_name {list(long_names)}",
                found="none of these",
            )


def _orient(ds: xr.Dataset) -> xr.Dataset:
    """Longitudes to -180..180 west to east; latitudes north to south."""
    lon = ((ds["lon"].values + 180.0) % 360.0) - 180.0
    ds = ds.assign_coords(lon=lon.astype(np.float64), lat=ds["lat"].values.astype(np.float64))
    return ds.sortby("lon").sortby("lat", ascending=False)


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
            expected=f">= {_PER_DAY[recipe]} steps of {_STEP[recipe]}",
            found=f"{len(times)} steps",
        )
    steps = np.diff(times.values)
    bad = np.flatnonzero(steps != _STEP[recipe].to_timedelta64())
    if bad.size:
        i = int(bad[0])
        problem = "gap in time" if steps[i] > _STEP[recipe].to_timedelta64() else "irregular time"
        raise DataError(
            f"{problem} (recipe {recipe!r})",
            source=sources,
            variable="time",
            expected=f"steps of {_STEP[recipe]}",
            found=f"{times[i]} followed by {times[i + 1]}",
        )
    return ds


def _whole_days(ds: xr.Dataset, recipe: str, sources: str) -> tuple[xr.Dataset, pd.DatetimeIndex]:
    """Trim to whole days; return the trimmed steps and the day labels."""
    times = pd.DatetimeIndex(ds["time"].values)
    per_day = _PER_DAY[recipe]
    lead = pd.Timedelta(hours=1) if recipe == "hourly" else pd.Timedelta(0)
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


def _aggregate(ds: xr.Dataset, recipe: str, sources: str) -> xr.DataArray:
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


_FileSpan = tuple[str, pd.Timestamp, pd.Timestamp, tuple[str, ...]]  # path, steps, quantities


def _file_spans(parts: Sequence[xr.Dataset], files: Sequence[Path]) -> list[_FileSpan]:
    """Which file holds which steps and quantities (to name the file of a bad value)."""
    spans = []
    for path, part in zip(files, parts, strict=True):
        times = pd.DatetimeIndex(part["time"].values)
        if len(times):
            spans.append((str(path), times.min(), times.max(), tuple(map(str, part.data_vars))))
    return spans


def _files_of(spans: Sequence[_FileSpan], day: pd.Timestamp, quantity: str, recipe: str) -> str:
    """The file(s) holding ``quantity`` for the steps of ``day`` under ``recipe``."""
    start = day + (pd.Timedelta(hours=1) if recipe == "hourly" else pd.Timedelta(0))
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
    spans: Sequence[_FileSpan],
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


def _checked(
    weather: xr.DataArray,
    spans: Sequence[_FileSpan],
    recipe: str,
    ranges: dict[str, tuple[float, float]] | None,
) -> xr.DataArray:
    """Attach :func:`check_block` to every block (lazily for dask-backed weather)."""
    kwargs = {"spans": spans, "recipe": recipe, "ranges": ranges}
    if weather.chunks is None:
        return check_block(weather, **kwargs)
    whole = weather.chunk({"channel": -1})  # one block holds all channels: tmax reported first
    return xr.map_blocks(check_block, whole, kwargs=kwargs, template=whole)


def _axis_step(values: np.ndarray) -> float:
    return float(np.median(np.abs(np.diff(values)))) if len(values) > 1 else np.inf


def _crop(ds: xr.Dataset, grid: Grid, sources: str) -> xr.Dataset:
    """Keep the source cells within one source step of the target extent; check coverage."""
    lat_e, lon_e = grid.cell_edges()
    src_lat, src_lon = ds["lat"].values, ds["lon"].values
    for axis, src, tgt in (("lat", src_lat, grid.lats), ("lon", src_lon, grid.lons)):
        tol = 1e-6
        if tgt.min() < src.min() - tol or tgt.max() > src.max() + tol:
            raise DataError(
                "ERA5 files do not cover the target grid",
                source=sources,
                variable=axis,
                expected=f"[{tgt.min()}, {tgt.max()}]",
                found=f"[{src.min()}, {src.max()}]",
            )
    d_lat, d_lon = _axis_step(src_lat), _axis_step(src_lon)
    keep_lat = (src_lat >= lat_e.min() - d_lat) & (src_lat <= lat_e.max() + d_lat)
    keep_lon = (src_lon >= lon_e.min() - d_lon) & (src_lon <= lon_e.max() + d_lon)
    return ds.isel(lat=np.flatnonzero(keep_lat), lon=np.flatnonzero(keep_lon))


def _target_step(values: np.ndarray, resolution: float | None) -> float:
    """The target grid's step; a one-cell axis without a resolution counts as fine (0)."""
    if len(values) > 1:
        return _axis_step(values)
    return resolution or 0.0


def _overlap_weights(src: np.ndarray, edges: np.ndarray, tgt: np.ndarray, dim: str) -> xr.DataArray:
    """``[target, source]`` weights: the share of each target cell covered by each source cell.

    Source cells span half a source step either side of their centre; the weights of a target
    row sum to 1 (a 1-D conservative remap along ``dim``). A target cell at the edge of the data
    averages the part that is covered, which must be at least half of it.
    """
    half = _axis_step(src) / 2
    lo_t = np.minimum(edges[:-1], edges[1:])[:, None]
    hi_t = np.maximum(edges[:-1], edges[1:])[:, None]
    overlap = np.clip(
        np.minimum(hi_t, src[None, :] + half) - np.maximum(lo_t, src[None, :] - half), 0, None
    )
    covered = overlap.sum(axis=1, keepdims=True)
    if np.any(covered < 0.5 * (hi_t - lo_t)):
        short = tgt[(covered < 0.5 * (hi_t - lo_t))[:, 0]]
        raise DataError(
            "ERA5 cells do not cover every target cell",
            variable=dim,
            expected="source cells covering each target cell",
            found=f"uncovered target cells at {short[:5].tolist()}",
        )
    return xr.DataArray(
        overlap / covered, dims=(f"{dim}_target", dim), coords={f"{dim}_target": tgt, dim: src}
    )


def regrid(weather: xr.DataArray, grid: Grid) -> tuple[xr.DataArray, str]:
    """Regrid daily weather to ``grid``; returns the result and the method used."""
    src_lat, src_lon = weather["lat"].values, weather["lon"].values
    tgt_lat, tgt_lon = grid.lats, grid.lons
    coarser = all(
        _target_step(tgt, grid.resolution) > 1.5 * _axis_step(src)
        for tgt, src in ((tgt_lat, src_lat), (tgt_lon, src_lon))
    )
    if coarser:
        lat_e, lon_e = grid.cell_edges()
        w_lat = _overlap_weights(src_lat, lat_e, tgt_lat, "lat")
        w_lon = _overlap_weights(src_lon, lon_e, tgt_lon, "lon")
        out = xr.dot(w_lat, weather, dim="lat")
        out = xr.dot(w_lon, out, dim="lon")
        out = out.rename(lat_target="lat", lon_target="lon")
        return out.transpose("time", "lat", "lon", "channel").astype(np.float32), "conservative"
    matches = all(
        np.abs(src[:, None] - tgt[None, :]).min(axis=0).max() < 1e-6
        for src, tgt in ((src_lat, tgt_lat), (src_lon, tgt_lon))
    )
    if matches:
        return weather.sel(lat=tgt_lat, lon=tgt_lon, method="nearest").assign_coords(
            lat=tgt_lat, lon=tgt_lon
        ), "nearest"
    out = weather.interp(lat=tgt_lat, lon=tgt_lon, method="linear")
    return out.astype(np.float32), "bilinear"


def read_era5(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    grid: Grid | Literal["native"] | None = None,
    recipe: Recipe = "hourly",
    chunks: dict[str, int] | None = None,
    progress: bool = True,
    location: tuple[float, float] | None = None,
    ranges: dict[str, tuple[float, float]] | None = None,
) -> xr.DataArray:
    """Read ERA5 NetCDF files into daily ``weather(time, lat, lon, channel)``.

    Parameters
    ----------
    paths
        One file, a glob pattern (``"era5/*.nc"``) or a list of files. Variables may be split
        across files and time across files; they are combined by coordinates.
    grid
        Target grid; None: the published 12 x 32 study grid; ``"native"``: the files' own grid
        (oriented north to south, west to east).
    recipe
        ``"hourly"`` (default), ``"published"`` or ``"daily"`` (see the module docstring).
    chunks
        Dask chunks for opening (default ``{"time": 744}``, one month of hours).
    progress
        Show a tqdm bar while opening many files.
    location
        ``(lat, lon)`` to give series that have no lat/lon coordinates (basin means); the
        result is then one cell.
    ranges
        Per-channel plausible ``(low, high)`` (K, K, mm/day) overriding :data:`PLAUSIBLE`.

    Returns
    -------
    xarray.DataArray
        ``weather(time, lat, lon, channel)`` float32, lazy (dask); channels ``tmax``, ``tmin``
        (K) and ``precip`` (mm/day); attributes ``recipe``, ``regrid``, ``sources``.

    Raises
    ------
    DataError
        Unreadable file, missing variable, unknown units, gap in time, grid not covered;
        when the values are computed: a missing step, a value outside the plausible range.

    Examples
    --------
    >>> weather = read_era5("era5/*.nc", recipe="published")  # doctest: +SKIP
    >>> weather.sel(channel="precip").mean().compute()  # doctest: +SKIP
    """
    if recipe not in RECIPES:
        raise DataError("unknown recipe", variable="recipe", expected=RECIPES, found=recipe)
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
    files = expand_paths(paths, "ERA5")
    chunks = chunks or {"time": 744}
    parts = []
    for path in tqdm(files, desc="ERA5 files", disable=not progress or len(files) < 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=xr.SerializationWarning)
            raw = _open_one(path, chunks)
        parts.append(_standardise(raw, str(path), recipe, location))
    sources = ", ".join(str(p) for p in files[:5]) + (" ..." if len(files) > 5 else "")
    try:
        ds = xr.combine_by_coords(parts, combine_attrs="drop")
    except ValueError as exc:
        raise DataError(
            f"cannot combine ERA5 files ({exc})",
            source=sources,
            variable="time/lat/lon",
            expected="files that tile time and space without overlap",
            found="overlapping or inconsistent coordinates",
        ) from exc
    _require(ds, recipe, sources)
    ds = _orient(ds)
    target = Grid.study() if grid is None else grid
    if isinstance(target, Grid):
        ds = _crop(ds, target, sources)
    weather = _aggregate(ds, recipe, sources)
    method = "none"
    if isinstance(target, Grid):
        try:
            weather, method = regrid(weather, target)
        except DataError as exc:  # name the files, not "<memory>"
            raise exc.with_source(sources) from exc
    weather = _checked(weather.astype(np.float32), _file_spans(parts, files), recipe, ranges)
    weather = weather.rename("weather")
    weather.attrs.update(
        units_by_channel=",".join(f"{c}:{CHANNEL_UNITS[c]}" for c in CHANNELS),
        recipe=recipe,
        regrid=method,
        sources=sources,
    )
    return weather
