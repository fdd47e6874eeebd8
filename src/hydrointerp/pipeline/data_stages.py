"""Stages data -> windows -> clusters: the region, its normaliser and the station clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import atomic_path
from hydrointerp.config import MiniData, RawData, RunConfig, TwinData, VirtualData, WindowSpec
from hydrointerp.data.mini import read_flowseason, read_mini
from hydrointerp.data.region import load, save
from hydrointerp.data.twin import TwinConfig, generate_twin
from hydrointerp.data.virtual import generate_region
from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.data.windows import SPLITS, Normaliser, make_windows, resolve_split
from hydrointerp.errors import ConfigError, HydroInterpError
from hydrointerp.io.assemble import build_region
from hydrointerp.io.build_config import load_build_config, parse_build_config
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.shared import find_shared
from hydrointerp.training import cluster
from hydrointerp.training.cluster import seasonal_flow as season

REGION = "region.nc"
NORMALISER = "normaliser.nc"
CLUSTERS = "clusters.csv"


class StageUnavailable(HydroInterpError):
    """A stage that cannot run with what this installation or share has (e.g. no published
    models to import)."""


def _shared(ctx: RunContext) -> Path:
    data = ctx.config.data
    explicit = data.shared if isinstance(data, MiniData | TwinData) and data.shared else ctx.shared
    return find_shared(explicit)


# ------------------------------------------------------------------------------ data
def region_from_config(ctx: RunContext) -> xr.Dataset:
    """Build the RegionData the config asks for (virtual, mini year or raw files)."""
    data = ctx.config.data
    if isinstance(data, VirtualData):
        return generate_region(VirtualRegionConfig(**data.region))
    if isinstance(data, TwinData):
        return generate_twin(TwinConfig(**data.twin), _shared(ctx))
    if isinstance(data, MiniData):
        return read_mini(_shared(ctx))
    assert isinstance(data, RawData)
    if isinstance(data.build, dict):
        return build_region(parse_build_config(data.build, ctx.run_dir))
    path = Path(data.build)
    if not path.is_file():
        raise ConfigError(f"data.build: build-region config not found: {path}")
    return build_region(load_build_config(path), path.parent)


def run_data(ctx: RunContext) -> dict[str, Any]:
    """Write ``region.nc``."""
    region = region_from_config(ctx)
    save(region, ctx.path(REGION))
    return {
        "stations": int(region.sizes["station"]),
        "days": int(region.sizes["time"]),
        "grid": [int(region.sizes["lat"]), int(region.sizes["lon"])],
        "source": str(region.attrs.get("source", ctx.config.data.source)),
    }


def load_region(ctx: RunContext) -> xr.Dataset:
    """The run's RegionData."""
    return load(ctx.path(REGION))


# --------------------------------------------------------------------------- windows
def window_spec(cfg: RunConfig, region: xr.Dataset) -> WindowSpec:
    """The config's ``windows`` section with the split periods it leaves out filled from the
    region (:func:`hydrointerp.data.windows.resolve_split`)."""
    return resolve_split(cfg.windows, region)


def run_windows(ctx: RunContext) -> dict[str, Any]:
    """Fit the normaliser on the training years; write ``normaliser.nc``."""

    region = load_region(ctx)
    spec = window_spec(ctx.config, region)
    norm = Normaliser().fit(region, spec.fit_years())
    windows = make_windows(region, norm, spec)
    norm.save(ctx.path(NORMALISER))
    return {
        "lookback": spec.lookback,
        "split_years": {name: list(spec.split.years(name)) for name in SPLITS},
        "n_windows": {k: int(len(v)) for k, v in windows.splits.items()},
        "identity": bool(norm.identity),
    }


def load_windows(ctx: RunContext) -> Any:
    """The run's :class:`~hydrointerp.data.windows.Windows` (rebuilt from region + normaliser)."""

    region = load_region(ctx)
    return make_windows(
        region, Normaliser.load(ctx.path(NORMALISER)), window_spec(ctx.config, region)
    )


# -------------------------------------------------------------------------- clusters
def n_clusters(cfg: RunConfig) -> int:
    """Number of station clusters (fine-tuning and the experiments' groups)."""
    if cfg.ensemble.mode == "import":
        return cfg.ensemble.import_.n_clusters
    return cfg.ensemble.fine_tune.n_clusters


def run_clusters(ctx: RunContext) -> dict[str, Any]:
    """Ward clustering of the stations on seasonal flow + location; write ``clusters.csv``."""
    region = load_region(ctx)
    season = seasonal_flow(ctx, region)
    k = n_clusters(ctx.config)  # at most the stations (pipeline.preflight checked it)
    labels = cluster.cluster_stations(
        season, region["station_lat"].values, region["station_lon"].values, n_clusters=k
    )
    table = cluster.clusters_table(labels)
    with atomic_path(ctx.path(CLUSTERS)) as tmp:
        table.to_csv(tmp, index=False)
    sizes = np.bincount(labels.values, minlength=k)
    return {"n_clusters": k, "sizes": sizes.tolist(), "names": labels.attrs.get("cluster_names")}


def load_clusters(ctx: RunContext) -> xr.DataArray:
    """``cluster(station)`` from ``clusters.csv`` with the ``cluster_names`` attribute."""
    table = pd.read_csv(ctx.path(CLUSTERS), dtype={"station_id": str})
    labels = table["cluster"].to_numpy(dtype=np.int64)
    names = [f"cluster {k}" for k in range(int(labels.max()) + 1)]
    if "cluster_name" in table:
        for k, name in zip(labels, table["cluster_name"], strict=True):
            names[k] = str(name)
    return xr.DataArray(
        labels,
        dims="station",
        coords={"station": table["station_id"].to_numpy(dtype=object)},
        name="cluster",
        attrs={"cluster_names": names},
    )


def seasonal_flow(ctx: RunContext, region: xr.Dataset) -> xr.DataArray:
    """The z-scored seasonal flow of every station (the published one for the mini year)."""
    if isinstance(ctx.config.data, MiniData):
        return read_flowseason(_shared(ctx))

    return season(region, window_spec(ctx.config, region).fit_years())
