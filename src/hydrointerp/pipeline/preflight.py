"""Checks of a run config before the expensive stages: the settings alone, then against the data.

:func:`check_settings` runs before anything else (no data needed): every split period runs
forwards, the training, validation and test years do not overlap when the run trains models
(otherwise "test" skill would be computed on training years), and an explicit shared folder
(``--shared`` or ``HYDROINTERP_SHARED``) exists.

:func:`check_against_region` runs as soon as ``region.nc`` is there (after the ``data`` stage,
before ``windows`` and the training): every split period lies inside the data and holds target
days after the first look-back, default split periods (too little data) do not overlap either,
and ``n_clusters`` is at most the number of stations.

Each failure is one :class:`~hydrointerp.errors.ConfigError` naming the setting, what was
expected and what was found.
"""

from __future__ import annotations

import itertools
import os

import pandas as pd
import xarray as xr

from hydrointerp.config import RunConfig
from hydrointerp.data.windows import SPLITS
from hydrointerp.errors import ConfigError
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.shared import find_shared


def _configured_split(cfg: RunConfig) -> dict[str, tuple[int, int]]:
    split = cfg.windows.split
    values = {name: getattr(split, name) for name in SPLITS}
    return {k: (int(v[0]), int(v[1])) for k, v in values.items() if v is not None}


def _check_separate(split: dict[str, tuple[int, int]], configured: set[str]) -> None:
    """Training, validation and test years must not overlap (in a run that trains)."""
    for (a, (a0, a1)), (b, (b0, b1)) in itertools.combinations(split.items(), 2):
        if a0 <= b1 and b0 <= a1:
            names = [
                f"windows.split.{n}" if n in configured else f"the default {n} split"
                for n in (a, b)
            ]
            hint = "" if {a, b} <= configured else " (give windows.split explicitly)"
            raise ConfigError(
                f"{names[0]} and {names[1]} overlap, so {b} skill would be computed on {a}"
                f" years{hint}; expected: separate years; found: {a} [{a0}, {a1}],"
                f" {b} [{b0}, {b1}] share {max(a0, b0)}-{min(a1, b1)}"
            )


def check_settings(cfg: RunConfig, shared: str | os.PathLike[str] | None = None) -> None:
    """Checks that need no data; run before the first stage.

    Raises
    ------
    ConfigError
        A reversed split period; overlapping split periods in a run that trains models.
    HydroInterpError
        An explicit shared folder that does not exist.
    """
    split = _configured_split(cfg)
    for name, (first, last) in split.items():
        if first > last:
            raise ConfigError(
                f"windows.split.{name} is reversed; expected: [first year, last year] with first"
                f" <= last; found: [{first}, {last}]"
            )
    if cfg.ensemble.mode == "train":
        _check_separate(split, set(split))
    if shared is not None or os.environ.get("HYDROINTERP_SHARED"):
        find_shared(shared)


def check_against_region(ctx: RunContext) -> None:
    """Checks of the settings against ``region.nc``; run once the data stage is done.

    Raises
    ------
    ConfigError
        A split period outside the data or without target days; more clusters than stations.
    """
    cfg = ctx.config
    path = ctx.path(ds.REGION)
    with xr.open_dataset(path, engine="h5netcdf") as region:
        time = pd.DatetimeIndex(region["time"].values)
        n_station = int(region.sizes["station"])
        spec = ds.window_spec(cfg, region)
    first_target = time[0] + pd.Timedelta(days=cfg.windows.lookback)
    configured = _configured_split(cfg)
    for name in SPLITS:
        first, last = spec.split.years(name)
        setting = f"windows.split.{name}" if name in configured else f"the default {name} split"
        if first < time[0].year or last > time[-1].year:
            raise ConfigError(
                f"{setting} lies outside the data in {path}; expected: years within"
                f" {time[0].year}-{time[-1].year}; found: [{first}, {last}]"
            )
        days = time[(time.year >= first) & (time.year <= last) & (time >= first_target)]
        if days.empty:
            raise ConfigError(
                f"{setting} has no target day after the first look-back of"
                f" {cfg.windows.lookback} days in {path}; expected: years from"
                f" {first_target.year}; found: [{first}, {last}]"
            )
    if cfg.ensemble.mode == "train":
        resolved = {name: spec.split.years(name) for name in SPLITS}
        _check_separate(resolved, set(configured))
    k = ds.n_clusters(cfg)
    if k > n_station:
        key = "import.n_clusters" if cfg.ensemble.mode == "import" else "fine_tune.n_clusters"
        raise ConfigError(
            f"ensemble.{key} is larger than the number of stations in {path}; expected: at most"
            f" {n_station}; found: {k}"
        )


def region_checks() -> dict[str, object]:
    """The ``checks`` mapping for :func:`~hydrointerp.pipeline.runner.run_stages`."""
    return {"data": check_against_region}


__all__ = ["check_against_region", "check_settings", "region_checks"]
