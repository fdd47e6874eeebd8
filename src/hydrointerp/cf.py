"""CF-1.8 conventions for the project's output files (predictions, skill, experiments).

:func:`cf_dataset` returns a copy of a labelled result with the attributes and encodings CF-1.8
asks for, without changing its numbers, names or dimension order (readers keep selecting by
``station``, ``time``, ``member`` ...):

- global ``Conventions``, ``title``, ``history``, ``source``; ``featureType = timeSeries`` (a
  discrete sampling geometry, orthogonal multidimensional representation) when the file holds
  station series ``(..., time, station)``;
- ``station_id(station)`` with ``cf_role = timeseries_id``; the ``station`` labels (and any
  other string-valued dimension coordinate) stored as a character array (CF coordinate
  variables are numeric; xarray reads them back as strings);
- ``station_lat`` / ``station_lon`` as auxiliary coordinates with ``standard_name``
  latitude/longitude and degrees units; grid ``lat`` / ``lon`` likewise, with no fill value;
- ``time`` (and any other date) as float64 days since 1970-01-01, ``time`` with
  ``standard_name = time`` and ``axis = T``; no fill value on coordinate variables;
- ``flag_values`` of the variable's own integer type;
- 64-bit integers (not a CF-1.8 type) as 32-bit when their values fit;
- a ``long_name`` on every variable that has neither ``long_name`` nor ``standard_name``
  (known names below; otherwise the variable's name in words);
- discharge in m3/s (``units = m3 s-1`` and a discharge ``long_name``) gets
  ``standard_name = water_volume_transport_in_river_channel``.

:func:`cf_encoding` gives the matching ``to_netcdf`` encoding; :func:`write_cf` writes both
atomically.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from hydrointerp import __version__
from hydrointerp.atomic import atomic_dir, atomic_write

DISCHARGE_STANDARD_NAME = "water_volume_transport_in_river_channel"
TIME_UNITS = "days since 1970-01-01 00:00:00"

#: long names of the coordinates and variables shared by many outputs
LONG_NAMES = {
    "station": "gauging station label",
    "station_id": "gauging station identifier",
    "member": "ensemble member",
    "cluster": "station cluster",
    "cluster_name": "station cluster name",
    "station_cluster": "cluster of each station",
    "area_km2": "basin area",
    "glacier_fraction": "glacier-covered fraction of the basin",
    "name": "station name",
    "channel": "weather channel",
    "regime": "hydrological regime",
    "group": "regime group",
}

_LATLON = {
    "station_lat": ("latitude", "degrees_north", "station latitude"),
    "station_lon": ("longitude", "degrees_east", "station longitude"),
    "lat": ("latitude", "degrees_north", "latitude"),
    "lon": ("longitude", "degrees_east", "longitude"),
}


def is_station_series(ds: xr.Dataset) -> bool:
    """Whether any data variable is a station time series (has both ``time`` and ``station``)."""
    return any({"time", "station"} <= set(ds[v].dims) for v in ds.data_vars)


def _is_discharge(da: xr.DataArray) -> bool:
    text = str(da.attrs.get("long_name", "")).lower()
    return da.attrs.get("units") == "m3 s-1" and ("discharge" in text or "flow" in text)


def _fixed_strings(values: np.ndarray) -> np.ndarray:
    """Fixed-width unicode strings of an object or ``StringDType`` array (same shape)."""
    return np.array([str(v) for v in values.ravel()], dtype=str).reshape(values.shape)


def cf_dataset(ds: xr.Dataset, title: str, source: str = "") -> xr.Dataset:
    """A CF-1.8 copy of ``ds`` (see the module docstring); numbers and labels unchanged."""
    out = ds.copy()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.attrs.setdefault("title", title)
    out.attrs.setdefault("history", f"{stamp} written by hydrointerp {__version__}")
    out.attrs["Conventions"] = "CF-1.8"
    if source:
        out.attrs.setdefault("source", source)
    if "station" in out.dims:
        if "station" not in out.coords:
            raise ValueError("a station dimension needs station labels (coordinate 'station')")
        out = out.assign_coords(station=out["station"].astype(str))
        if "station_id" not in out.coords:
            out = out.assign_coords(station_id=("station", out["station"].values.astype(str)))
        out["station_id"] = out["station_id"].astype(str)
        out["station_id"].attrs["cf_role"] = "timeseries_id"
    if is_station_series(out):
        out.attrs["featureType"] = "timeSeries"
    for name, (standard, units, long) in _LATLON.items():
        if name in out.variables:
            out[name].attrs.update(standard_name=standard, units=units)
            out[name].attrs.setdefault("long_name", long)
    if "time" in out.coords and np.issubdtype(out["time"].dtype, np.datetime64):
        out["time"].attrs.update(standard_name="time", axis="T", long_name="time")
    for name in list(out.variables):
        da = out[name]
        if da.dtype == np.int64 and da.size and np.abs(da.values).max() < 2**31:
            out[name] = da.astype(np.int32)
        elif da.dtype.kind in "OT":  # Python objects or NumPy's variable-width strings
            out[name] = da.copy(data=_fixed_strings(da.values))
        attrs = out[name].attrs
        if "flag_values" in attrs and out[name].dtype.kind in "iu":
            attrs["flag_values"] = np.asarray(attrs["flag_values"], dtype=out[name].dtype)
        if _is_discharge(out[name]):
            attrs.setdefault("standard_name", DISCHARGE_STANDARD_NAME)
        if "long_name" not in attrs and "standard_name" not in attrs:
            attrs["long_name"] = LONG_NAMES.get(str(name), str(name).replace("_", " "))
    return out


def cf_encoding(ds: xr.Dataset) -> dict[str, dict[str, object]]:
    """The ``to_netcdf`` encoding of a :func:`cf_dataset` result."""
    enc: dict[str, dict[str, object]] = {}
    for name in ds.variables:
        kind = ds[name].dtype.kind
        item: dict[str, object] = {}
        if kind == "M":
            item.update(units=TIME_UNITS, dtype="float64")
        if name in ds.dims and kind in "USOT":
            item["dtype"] = "S1"  # a string coordinate variable: a character array
        if (name in ds.dims or name in _LATLON) and kind in "fiuM":
            item["_FillValue"] = None
        if item:
            enc[str(name)] = item
    return enc


def write_cf(ds: xr.Dataset, path: str | os.PathLike[str], title: str, source: str = "") -> Path:
    """Write :func:`cf_dataset` of ``ds`` atomically: NetCDF4 (h5netcdf), or a Zarr store
    when ``path`` ends in ``.zarr`` (the same variables, attributes and encoding)."""
    out = cf_dataset(ds, title, source)
    enc = cf_encoding(out)
    if Path(path).suffix == ".zarr":
        zarr_enc = {k: {a: b for a, b in v.items() if b != "S1"} for k, v in enc.items()}
        with atomic_dir(path) as tmp:
            out.to_zarr(tmp, mode="w", encoding=zarr_enc, consolidated=True)
        return Path(path)
    return atomic_write(path, lambda p: out.to_netcdf(p, engine="h5netcdf", encoding=enc))
