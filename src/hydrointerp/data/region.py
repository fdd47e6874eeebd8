"""RegionData: the project's data model, an ``xarray.Dataset`` with a thin typed API.

Layout (see ``docs/data_model.md``)::

    weather(time, lat, lon, channel)  float32, K and mm/day; channel in tmax, tmin, precip
    flow(time, station)               float32, m3/s, NaN where missing
    basin_mask(station, lat, lon)     float32 in [0, 1], fraction of each cell in the basin
    coords on station: station_id, name, station_lat, station_lon, glacier_fraction, area_km2
    virtual region only: flow_component(time, station, component), regime(station),
    elevation(lat, lon)

``time`` is daily and gap-free, ``lat`` runs north to south, ``lon`` west to east.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_netcdf
from hydrointerp.errors import DataError

CHANNELS: tuple[str, ...] = ("tmax", "tmin", "precip")
CHANNEL_UNITS = {"tmax": "K", "tmin": "K", "precip": "mm day-1"}
STATION_COORDS = (
    "station_id",
    "name",
    "station_lat",
    "station_lon",
    "glacier_fraction",
    "area_km2",
)
#: The published glacier classes (METHODS.md 1.5): name, lower bound (exclusive), upper (inclusive)
#: of the glacier fraction G.
GLACIER_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("G = 0", -np.inf, 0.0),
    ("0 < G <= 1 %", 0.0, 0.01),
    ("1 % < G <= 10 %", 0.01, 0.10),
    ("G > 10 %", 0.10, np.inf),
)
_DIMS = {
    "weather": ("time", "lat", "lon", "channel"),
    "flow": ("time", "station"),
    "basin_mask": ("station", "lat", "lon"),
    "flow_component": ("time", "station", "component"),
}


def glacier_class_masks(values: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """Which glacier fractions fall in each class of :data:`GLACIER_CLASSES` (NaN in none)."""
    values = np.asarray(values, dtype=float)
    return {name: (values > lo) & (values <= hi) for name, lo, hi in GLACIER_CLASSES}


def glacier_classes(values: Sequence[float] | np.ndarray) -> dict[str, int]:
    """Counts per glacier class (METHODS.md 1.5): G = 0, 0-1 %, 1-10 %, > 10 %."""
    return {name: int(mask.sum()) for name, mask in glacier_class_masks(values).items()}


def make_region(
    weather: np.ndarray,
    time: Sequence | pd.DatetimeIndex,
    lat: Sequence[float],
    lon: Sequence[float],
    flow: np.ndarray,
    station_ids: Sequence[str],
    *,
    names: Sequence[str] | None = None,
    station_lat: Sequence[float] | None = None,
    station_lon: Sequence[float] | None = None,
    glacier_fraction: Sequence[float] | None = None,
    area_km2: Sequence[float] | None = None,
    basin_mask: np.ndarray | None = None,
    channels: Sequence[str] = CHANNELS,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build and validate a RegionData from plain arrays.

    Parameters
    ----------
    weather
        ``[time, lat, lon, channel]`` in K (temperatures) and mm/day (precipitation).
    time, lat, lon
        Daily dates; latitudes north to south; longitudes west to east.
    flow
        ``[time, station]`` discharge in m3/s, NaN where missing.
    station_ids
        One id per flow column.
    basin_mask
        ``[station, lat, lon]`` fraction of each cell inside each basin; zeros when unknown.

    Returns
    -------
    xarray.Dataset
        A validated RegionData.
    """
    n_st = len(station_ids)
    ids = np.asarray([str(s) for s in station_ids], dtype=object)

    def _col(values: Sequence | None, fill: object, dtype: type) -> np.ndarray:
        if values is None:
            return np.full(n_st, fill, dtype=dtype)
        return np.asarray(values, dtype=dtype)

    if basin_mask is None:
        basin_mask = np.zeros((n_st, len(lat), len(lon)), dtype=np.float32)
    _check_shapes(
        {"weather": weather, "flow": flow, "basin_mask": basin_mask},
        {
            "weather": (len(time), len(lat), len(lon), len(channels)),
            "flow": (len(time), n_st),
            "basin_mask": (n_st, len(lat), len(lon)),
        },
    )
    ds = xr.Dataset(
        {
            "weather": (_DIMS["weather"], np.asarray(weather, dtype=np.float32)),
            "flow": (_DIMS["flow"], np.asarray(flow, dtype=np.float32)),
            "basin_mask": (_DIMS["basin_mask"], np.asarray(basin_mask, dtype=np.float32)),
        },
        coords={
            "time": pd.DatetimeIndex(time),
            "lat": np.asarray(lat, dtype=np.float64),
            "lon": np.asarray(lon, dtype=np.float64),
            "channel": list(channels),
            "station": ids,
            "station_id": ("station", ids),
            "name": ("station", _col(names, "", object)),
            "station_lat": ("station", _col(station_lat, np.nan, np.float64)),
            "station_lon": ("station", _col(station_lon, np.nan, np.float64)),
            "glacier_fraction": ("station", _col(glacier_fraction, 0.0, np.float64)),
            "area_km2": ("station", _col(area_km2, np.nan, np.float64)),
        },
        attrs={"Conventions": "CF-1.8", "title": "hydrointerp RegionData", **(attrs or {})},
    )
    return add_cf_attrs(validate(ds))


def _check_shapes(arrays: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]) -> None:
    """Each array must have the shape its coordinates give (e.g. one flow column per station)."""
    for name, expected in shapes.items():
        found = tuple(np.shape(arrays[name]))
        if found != expected:
            dims = ", ".join(_DIMS[name])
            _fail(
                f"{name} does not match its coordinates ({dims})",
                "<memory>",
                name,
                expected,
                found,
            )


def add_cf_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Attach CF units and long names to the standard variables (in place, returned)."""
    ds["weather"].attrs.update(
        long_name="daily weather",
        units_by_channel=",".join(
            f"{c}:{CHANNEL_UNITS.get(str(c), '?')}" for c in ds.channel.values
        ),
    )
    ds["flow"].attrs.update(long_name="daily mean discharge", units="m3 s-1")
    ds["basin_mask"].attrs.update(long_name="fraction of grid cell inside basin", units="1")
    ds["lat"].attrs.update(standard_name="latitude", units="degrees_north")
    ds["lon"].attrs.update(standard_name="longitude", units="degrees_east")
    ds["time"].attrs.update(standard_name="time")
    if "flow_component" in ds:
        ds["flow_component"].attrs.update(long_name="flow by water source", units="m3 s-1")
    return ds


def _fail(problem: str, source: str, variable: str, expected: object, found: object) -> None:
    raise DataError(problem, source=source, variable=variable, expected=expected, found=found)


def _check_dims(ds: xr.Dataset, source: str) -> None:
    for name, dims in _DIMS.items():
        if name not in ds:
            if name == "flow_component":
                continue
            _fail("missing variable", source, name, f"a variable with dims {dims}", "none")
        if ds[name].dims != dims:
            _fail("wrong dimensions or order", source, name, dims, ds[name].dims)


def _check_time(ds: xr.Dataset, source: str) -> None:
    time = pd.DatetimeIndex(ds["time"].values)
    if len(time) < 2:
        return
    steps = np.diff(time.values).astype("timedelta64[s]").astype(np.int64)
    if not np.all(steps == 86400):
        bad = int(np.argmax(steps != 86400))
        _fail(
            "time axis is not daily and gap-free",
            source,
            "time",
            "consecutive days",
            f"{time[bad].date()} followed by {time[bad + 1]}",
        )
    if not np.all(time.normalize() == time):
        _fail("time stamps must be at midnight (daily)", source, "time", "00:00", str(time[0]))


def _check_axes(ds: xr.Dataset, source: str) -> None:
    lat = ds["lat"].values
    lon = ds["lon"].values
    if len(lat) > 1 and not np.all(np.diff(lat) < 0):
        _fail("latitudes must run north to south", source, "lat", "decreasing", lat[:3].tolist())
    if len(lon) > 1 and not np.all(np.diff(lon) > 0):
        _fail("longitudes must run west to east", source, "lon", "increasing", lon[:3].tolist())
    unknown = [str(c) for c in ds["channel"].values if str(c) not in CHANNELS]
    if unknown:
        _fail("unknown channel names", source, "channel", list(CHANNELS), unknown)


def weather_end(ds: xr.Dataset) -> pd.Timestamp:
    """Last day with weather: ``attrs['weather_end']`` or the last time step.

    A region may carry flow one day (or more) past its weather, as the published mini year does:
    a target day's window ends the day before, so the last target needs no weather of its own.
    """
    end = ds.attrs.get("weather_end")
    return pd.Timestamp(end) if end else pd.Timestamp(ds["time"].values[-1])


def is_normalised(ds: xr.Dataset) -> bool:
    """True when ``weather`` and ``flow`` hold normalised values (the published mini year)."""
    return str(ds.attrs.get("normalised", "false")).lower() in ("1", "true", "yes")


def _check_values(ds: xr.Dataset, source: str) -> None:
    end = weather_end(ds)
    weather = ds["weather"].sel(time=slice(None, end)).values
    if not np.all(np.isfinite(weather)):
        n_bad = int((~np.isfinite(weather)).sum())
        _fail("weather contains NaN or inf", source, "weather", "finite values", f"{n_bad} bad")
    tail = ds["weather"].sel(time=slice(end + pd.Timedelta(days=1), None)).values
    if tail.size and not np.all(np.isnan(tail)):
        _fail("weather after weather_end must be NaN", source, "weather", "NaN", "values")
    if "precip" in [str(c) for c in ds["channel"].values] and not is_normalised(ds):
        p = ds["weather"].sel(channel="precip", time=slice(None, end)).values
        if p.min() < 0:
            _fail("negative precipitation", source, "weather[precip]", ">= 0", float(p.min()))
    mask = ds["basin_mask"].values
    if mask.size and (np.nanmin(mask) < 0 or np.nanmax(mask) > 1 or np.isnan(mask).any()):
        found = f"[{np.nanmin(mask)}, {np.nanmax(mask)}]"
        _fail("basin mask out of [0, 1]", source, "basin_mask", "[0, 1]", found)
    if np.isinf(ds["flow"].values).any():
        _fail("flow contains inf", source, "flow", "finite values or NaN", "inf")


def validate(ds: xr.Dataset, source: str = "<memory>") -> xr.Dataset:
    """Check a Dataset against the RegionData model and return it unchanged.

    Raises
    ------
    DataError
        Naming the file, the variable, what was expected and what was found.
    """
    _check_dims(ds, source)
    n_station = ds.sizes["station"]
    if ds["flow"].shape[1] != n_station or ds["basin_mask"].shape[0] != n_station:
        _fail(
            "flow or basin_mask does not match the stations",
            source,
            "flow",
            f"{n_station} stations",
            f"flow {ds['flow'].shape}, basin_mask {ds['basin_mask'].shape}",
        )
    if ds.indexes["station"].has_duplicates:
        _fail("duplicate station ids", source, "station", "unique ids", "duplicates")
    _check_time(ds, source)
    _check_axes(ds, source)
    _check_values(ds, source)
    return ds


def save(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Validate and write a RegionData to NetCDF atomically."""
    validate(ds, str(path))
    return write_netcdf(ds, path)


def load(path: str | os.PathLike[str]) -> xr.Dataset:
    """Load and validate a RegionData NetCDF file (fully into memory)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataError(f"cannot read NetCDF ({exc})", source=str(path)) from exc
    for name in ("station", "station_id", "name", "channel", "component", "regime"):
        if name in ds.variables and ds[name].dtype.kind in "SO":
            ds[name] = ds[name].astype(str).astype(object)
    return validate(ds, str(path))


def select(
    ds: xr.Dataset,
    stations: Sequence[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> xr.Dataset:
    """Select stations (by id, in the order given) and a period (inclusive)."""
    out = ds
    if stations is not None:
        missing = [s for s in stations if s not in set(ds["station"].values)]
        if missing:
            raise DataError("unknown station ids", variable="station", found=missing[:10])
        out = out.sel(station=list(stations))
    if start is not None or end is not None:
        out = out.sel(time=slice(start, end))
    return out
