"""Experiment outputs: ``RUN_DIR/experiments/<name>.nc``, CF-1.8 (``hydrointerp.cf``), resumable.

Every experiment writes one NetCDF file, or a Zarr store ``<name>.zarr`` (``output_format:
zarr``, for large results; read lazily, chunk by chunk, by :func:`open_experiment`), atomically.
Its settings are stored as attributes (one ``setting_<key>`` per setting plus the JSON of all of
them) together with their hash, so a rerun with the same settings finds the finished file and
skips the work.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from hydrointerp import __version__
from hydrointerp.cf import write_cf
from hydrointerp.errors import DataError


def _plain(value: object) -> object:
    """A JSON-friendly version of a setting value."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def settings_json(settings: Mapping[str, object]) -> str:
    """Canonical JSON of the settings (sorted keys)."""
    return json.dumps(_plain(dict(settings)), sort_keys=True, default=str)


def settings_hash(settings: Mapping[str, object]) -> str:
    """Short SHA-256 of :func:`settings_json`."""
    return hashlib.sha256(settings_json(settings).encode()).hexdigest()[:16]


#: file suffix of each output format
SUFFIXES = {"netcdf": ".nc", "zarr": ".zarr"}


def experiment_path(run_dir: str | os.PathLike[str], name: str, fmt: str = "netcdf") -> Path:
    """``run_dir/experiments/<name>.nc`` (or ``.zarr``)."""
    return Path(run_dir) / "experiments" / f"{name}{SUFFIXES[fmt]}"


def find_result(stem: str | os.PathLike[str]) -> Path | None:
    """The result ``<stem>.nc`` or ``<stem>.zarr`` that exists (None: neither)."""
    for suffix in SUFFIXES.values():
        path = Path(f"{stem}{suffix}")
        if path.exists():
            return path
    return None


def open_experiment(path: str | os.PathLike[str]) -> xr.Dataset:
    """A result, opened lazily: a Zarr store as dask arrays read chunk by chunk, a NetCDF file
    with its variables read on first use (close it, or use it as a context manager)."""
    path = Path(path)
    if path.suffix == ".zarr":
        return xr.open_zarr(path, consolidated=True)
    return xr.open_dataset(path, engine="h5netcdf")


def _attr_value(value: object) -> object:
    value = _plain(value)
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return "none"
    if isinstance(value, (int, float, str)):
        return value
    return json.dumps(value, default=str)


def write_experiment(
    ds: xr.Dataset,
    run_dir: str | os.PathLike[str],
    name: str,
    settings: Mapping[str, object] | None = None,
    fmt: str = "netcdf",
) -> Path:
    """Write an experiment result atomically with CF attributes and its settings.

    Parameters
    ----------
    ds
        The labelled result.
    run_dir
        The run folder; the file goes to ``run_dir/experiments/<name>.nc``.
    name
        Experiment name (file stem).
    settings
        Settings that produced the result; stored as attributes and hashed for resuming.
    fmt
        ``netcdf`` (``<name>.nc``) or ``zarr`` (``<name>.zarr``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    settings = dict(settings or {})
    out = ds.copy()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.attrs.update(
        Conventions="CF-1.8",
        title=f"hydrointerp experiment {name}",
        history=f"{stamp} hydrointerp {__version__} experiment {name}",
        experiment=name,
        settings_json=settings_json(settings),
        settings_hash=settings_hash(settings),
    )
    for key, value in settings.items():
        out.attrs[f"setting_{key}"] = _attr_value(value)
    return write_cf(out, experiment_path(run_dir, name, fmt), out.attrs["title"])


def experiment_done(
    run_dir: str | os.PathLike[str], name: str, settings: Mapping[str, object]
) -> bool:
    """True when ``experiments/<name>.nc`` exists and was made with the same settings."""
    path = experiment_path(run_dir, name)
    if not path.is_file():
        return False
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.attrs.get("settings_hash") == settings_hash(settings)
    except (OSError, ValueError):
        return False


def read_experiment(run_dir: str | os.PathLike[str], name: str) -> xr.Dataset:
    """Load a finished experiment file into memory."""
    path = experiment_path(run_dir, name)
    if not path.is_file():
        raise DataError("experiment output not found", source=str(path))
    return xr.load_dataset(path, engine="h5netcdf")
