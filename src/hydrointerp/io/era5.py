"""ERA5 single-level NetCDF -> daily ``weather(time, lat, lon, channel)`` in K and mm/day.

Reads one or many files lazily (xarray + dask). Variables are found by short name (``t2m``,
``tp``), by the shared sample's names (``tas``, ``pr``) or by long name (``2 metre temperature``,
``Total precipitation``); units are read from the ``units`` attribute and converted
(:mod:`hydrointerp.io.era5_units`). Either time coordinate name (``time`` or CDS's newer
``valid_time``), with or without ``expver``/``number``; longitudes 0..360 or -180..180; latitudes
in any order.

The steps of :func:`read_era5`, each in the module named for it:

* decode each file (this module) and convert units (:mod:`~hydrointerp.io.era5_units`);
* crop the source grid to the target's extent (:func:`hydrointerp.io.regrid.crop`);
* make days by a recipe, ``"hourly"`` (default), ``"published"`` or ``"daily"``
  (:mod:`~hydrointerp.io.era5_days`);
* regrid to the target grid (:func:`hydrointerp.io.regrid.regrid`);
* check every value lazily: no missing step, every value plausible
  (:mod:`~hydrointerp.io.era5_checks`, with :data:`~hydrointerp.io.era5_checks.PLAUSIBLE`).

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

from hydrointerp.data.region import CHANNEL_UNITS, CHANNELS
from hydrointerp.errors import DataError
from hydrointerp.io.era5_checks import check_ranges, checked, file_spans
from hydrointerp.io.era5_days import RECIPES, STEP, Recipe, daily_weather
from hydrointerp.io.era5_units import precip_mm_per_step, temperature_k
from hydrointerp.io.files import existing, expand_paths, reading
from hydrointerp.io.grid import Grid
from hydrointerp.io.regrid import crop, regrid

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


def _open_one(path: Path, chunks: dict[str, int]) -> xr.Dataset:
    existing(path, "ERA5")
    with reading(path, "NetCDF", what="ERA5", expected="a NetCDF file", found="unreadable bytes"):
        ds = xr.open_dataset(path, chunks={})
        time_chunks = {k: v for k, v in chunks.items() if k in ds.dims}
        if "time" in chunks and "valid_time" in ds.dims:
            time_chunks.setdefault("valid_time", chunks["time"])
        return ds.chunk(time_chunks) if time_chunks else ds


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


def _file_step(ds: xr.Dataset, recipe: str) -> pd.Timedelta:
    times = pd.DatetimeIndex(ds["time"].values)
    if len(times) > 1:
        return pd.Timedelta(np.median(np.diff(times.values)))
    return STEP[recipe]


def _quantities(recipe: str) -> tuple[str, ...]:
    """The ERA5 quantities a recipe reads."""
    return ("tmax", "tmin", "tp") if recipe == "daily" else ("t2m", "tp")


def _standardise(
    ds: xr.Dataset, source: str, recipe: str, location: tuple[float, float] | None = None
) -> xr.Dataset:
    """One file -> Dataset of ``t2m``/``tp`` (or ``tmax``/``tmin``/``tp``) in K and mm per step."""
    ds = _rename_axes(ds, source, location)
    step = _file_step(ds, recipe)
    out = {}
    for quantity in _quantities(recipe):
        name = _find(ds, quantity)
        if name is None:
            continue
        da = ds[name]
        if quantity == "tp":
            out[quantity] = precip_mm_per_step(da, source, name, step)
        else:
            out[quantity] = temperature_k(da, source, name)
    result = xr.Dataset(out)
    return result.transpose("time", "lat", "lon")


def _require(ds: xr.Dataset, recipe: str, sources: str) -> None:
    for quantity in _quantities(recipe):
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
        ``"hourly"`` (default), ``"published"`` or ``"daily"`` (see
        :mod:`hydrointerp.io.era5_days`).
    chunks
        Dask chunks for opening (default ``{"time": 744}``, one month of hours).
    progress
        Show a tqdm bar while opening many files.
    location
        ``(lat, lon)`` to give series that have no lat/lon coordinates (basin means); the
        result is then one cell.
    ranges
        Per-channel plausible ``(low, high)`` (K, K, mm/day) overriding
        :data:`~hydrointerp.io.era5_checks.PLAUSIBLE`.

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
    check_ranges(ranges)
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
        ds = crop(ds, target, sources)
    weather = daily_weather(ds, recipe, sources)
    method = "none"
    if isinstance(target, Grid):
        try:
            weather, method = regrid(weather, target)
        except DataError as exc:  # name the files, not "<memory>"
            raise exc.with_source(sources) from exc
    weather = checked(weather.astype(np.float32), file_spans(parts, files), recipe, ranges)
    weather = weather.rename("weather")
    weather.attrs.update(
        units_by_channel=",".join(f"{c}:{CHANNEL_UNITS[c]}" for c in CHANNELS),
        recipe=recipe,
        regrid=method,
        sources=sources,
    )
    return weather
