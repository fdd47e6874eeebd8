"""What every experiment needs, resolved from the ``--models`` and ``--data`` the user gives.

:class:`ExperimentInputs` holds a Predictor (a model, an ensemble, the fine-tuned ensemble routed by
cluster, or the virtual region's simulator), the normalised input days, the target days of the
evaluation period, and per-station metadata (cluster, glacier fraction, regime group, in/near
mask), plus the normalisation constants and the observed flow. :func:`load_inputs` builds it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.errors import ConfigError, DataError
from hydrointerp.experiments.metrics_spatial import in_near_vertices
from hydrointerp.experiments.regimes import cluster_name, groups_from_regime, regime_groups
from hydrointerp.predictor import Predictor

#: Published normalisation constants of the temperature channels (METHODS.md section 1.3, with
#: the swapped means corrected); the precipitation std is unknown (only mean/std = 0.4748).
PUBLISHED_CHANNEL_MEAN = {"tmax": 280.5563132719942, "tmin": 274.30000759959273, "precip": np.nan}
PUBLISHED_CHANNEL_STD = {"tmax": 10.56131180032738, "tmin": 9.76836353862723, "precip": np.nan}
ENSEMBLE_KINDS = ("bulk", "fine")


@dataclass
class ExperimentInputs:
    """Everything an experiment reads.

    Attributes
    ----------
    predictor
        Maps normalised frames to normalised flow at ``stations.station``.
    frames
        ``(time, lat, lon, channel)`` normalised input days (float32).
    target_times
        Days whose flow is predicted; each needs ``predictor.lookback`` input days before it.
    stations
        Dataset on ``station``: ``cluster`` (int), ``cluster_name``, ``glacier_fraction``,
        ``group``/``regime``, ``station_lat``/``station_lon``, ``in_near(station, lat, lon)``.
    channel_mean, channel_std
        ``(channel)`` normalisation constants in physical units (K for temperatures).
    flow_obs
        ``(time, station)`` observed normalised flow (may be NaN).
    source
        A description of where the inputs came from.
    window
        Look-back length when the predictor has none (a bare CNNLSTM); default its own.
    checkpoint_dir
        Where long perturbation sweeps save their state after every pass (resume after a kill);
        None: no checkpoints.
    """

    predictor: Predictor
    frames: xr.DataArray
    target_times: pd.DatetimeIndex
    stations: xr.Dataset
    channel_mean: xr.DataArray
    channel_std: xr.DataArray
    flow_obs: xr.DataArray
    source: str = ""
    window: int | None = None
    checkpoint_dir: Path | None = None

    @property
    def lookback(self) -> int:
        """Look-back window length: ``window`` if set, else the predictor's (days)."""
        if self.window is not None:
            return int(self.window)
        return int(self.predictor.lookback)  # type: ignore[attr-defined]

    def target_indices(self) -> np.ndarray:
        """Index ``t`` of each target day: its window is ``frames[t - lookback : t]``."""
        start = pd.Timestamp(self.frames["time"].values[0])
        return np.asarray((self.target_times - start).days, dtype=np.int64)

    def frames_array(self) -> np.ndarray:
        """``[D, H, W, C]`` float32 array of the input days."""
        return np.ascontiguousarray(self.frames.values, dtype=np.float32)

    def first_targets(self, n: int) -> ExperimentInputs:
        """The same inputs restricted to the first ``n`` target days (for quick runs)."""
        return replace(self, target_times=self.target_times[:n])

    def every_nth_target(self, step: int) -> ExperimentInputs:
        """The same inputs restricted to every ``step``-th target day."""
        return replace(self, target_times=self.target_times[::step])


# ------------------------------------------------------------------------- helpers
def _station_table(
    station_ids: Sequence[str],
    station_lat: Sequence[float],
    station_lon: Sequence[float],
    glacier_fraction: Sequence[float],
    cluster: Sequence[int],
    in_near: xr.DataArray,
    regime: Sequence[str] | None = None,
) -> xr.Dataset:
    ids = np.asarray([str(s) for s in station_ids], dtype=object)
    ds = xr.Dataset(
        {
            "cluster": ("station", np.asarray(cluster, dtype=np.int64)),
            "glacier_fraction": ("station", np.asarray(glacier_fraction, dtype=np.float64)),
            "in_near": in_near.assign_coords(station=ids),
        },
        coords={
            "station": ids,
            "station_lat": ("station", np.asarray(station_lat, dtype=np.float64)),
            "station_lon": ("station", np.asarray(station_lon, dtype=np.float64)),
        },
    )
    ds["cluster"].attrs.update(long_name="station cluster (official label numbering)")
    ds["glacier_fraction"].attrs.update(long_name="basin glacier fraction", units="1")
    if regime is not None:
        groups = groups_from_regime(
            xr.DataArray(list(regime), dims="station", coords={"station": ids})
        )
        ds["cluster_name"] = ("station", np.asarray([str(c) for c in cluster], dtype=object))
    else:
        ds["cluster_name"] = cluster_name(ds["cluster"])
        groups = regime_groups(ds["glacier_fraction"], ds["cluster"])
    ds["group"] = ("station", groups.values)
    ds["regime"] = ("station", groups["regime"].values)
    return ds


def _channel_constants(mean: dict, std: dict, channels: Sequence[str]) -> tuple[xr.DataArray, ...]:
    chans = [str(c) for c in channels]
    m = xr.DataArray(
        [mean.get(c, np.nan) for c in chans], dims="channel", coords={"channel": chans}
    )
    s = xr.DataArray([std.get(c, np.nan) for c in chans], dims="channel", coords={"channel": chans})
    m.attrs["long_name"] = "input normalisation mean"
    s.attrs["long_name"] = "input normalisation std"
    return m.rename("channel_mean"), s.rename("channel_std")


def _read_clusters_csv(path: str | os.PathLike[str], station_ids: Sequence[str]) -> np.ndarray:
    """Read ``station,cluster`` from a CSV (columns named station/station_id and cluster)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("clusters file not found", source=str(path))
    table = pd.read_csv(path, dtype={"station": str, "station_id": str})
    id_col = "station" if "station" in table else "station_id"
    if id_col not in table or "cluster" not in table:
        raise DataError(
            "clusters file lacks columns",
            source=str(path),
            variable="columns",
            expected="station (or station_id) and cluster",
            found=list(table.columns),
        )
    mapping = dict(zip(table[id_col].astype(str).str.strip(), table["cluster"], strict=True))
    missing = [s for s in station_ids if s not in mapping]
    if missing:
        raise DataError(
            "stations missing from clusters file",
            source=str(path),
            variable="station",
            expected=f"{len(station_ids)} stations",
            found=f"missing {missing[:5]}",
        )
    return np.asarray([int(mapping[s]) for s in station_ids])


# ------------------------------------------------------------------------- published mini year
def _is_shared(path: Path) -> bool:
    return (path / "data" / "cnn_lstm_era").is_dir()


def _shared_root(data: Path | None, shared: str | os.PathLike[str] | None) -> Path:
    from hydrointerp.shared import find_shared

    if data is not None:
        for cand in (data, *data.parents):
            if _is_shared(cand):
                return cand
    return find_shared(shared)


def _mini_stations(shared_dir: Path, region: xr.Dataset, clusters: str | None) -> xr.Dataset:
    from hydrointerp.io.geo import in_near_mask, read_outlines

    ids = [str(s) for s in region["station"].values]
    lat = region["station_lat"].values
    lon = region["station_lon"].values
    if clusters is not None:
        labels = _read_clusters_csv(clusters, ids)
    else:
        from hydrointerp.data.mini import read_flowseason
        from hydrointerp.training.cluster import cluster_stations

        labels = np.asarray(cluster_stations(read_flowseason(shared_dir), lat, lon).values)
    outlines = read_outlines(shared_dir / "data" / "basins" / "stationBasins_partial_226.geojson")
    in_near = in_near_mask(outlines, ids, lon, lat, region["lat"].values, region["lon"].values)
    gf = region["glacier_fraction"].values
    return _station_table(ids, lat, lon, gf, labels, in_near.astype(bool))


# ------------------------------------------------------------------------- physical regions
def _region_frames(region: xr.Dataset, normaliser: object | None) -> tuple[xr.DataArray, ...]:
    """Normalised frames, normalised flow and channel constants of a RegionData."""
    from hydrointerp.data.region import is_normalised, weather_end

    weather = region["weather"].sel(time=slice(None, weather_end(region)))
    chans = [str(c) for c in region["channel"].values]
    if is_normalised(region):
        attrs = region.attrs
        mean = {
            c: float(attrs.get(f"normalisation_{c}_mean_K", PUBLISHED_CHANNEL_MEAN[c]))
            for c in chans
        }
        std = {
            c: float(attrs.get(f"normalisation_{c}_std_K", PUBLISHED_CHANNEL_STD[c])) for c in chans
        }
        mean, std = _channel_constants(mean, std, chans)
        return weather.astype(np.float32), region["flow"], mean, std
    if normaliser is None:
        raise DataError(
            "a physical region needs its normaliser",
            source=str(region.encoding.get("source", "region")),
            variable="normaliser.nc",
            expected="normaliser.nc beside region.nc or in the run dir",
            found="none",
        )
    frames = normaliser.transform_weather(region)
    flow = normaliser.transform_flow(region["flow"])
    m = normaliser.channel_mean.sel(channel=chans).rename("channel_mean")
    s = normaliser.channel_std.sel(channel=chans).rename("channel_std")
    return frames.astype(np.float32), flow, m, s


def _find_normaliser(region_path: Path) -> object | None:
    for cand in (
        region_path.parent / "normaliser.nc",
        region_path.parent / "models" / "normaliser.nc",
    ):
        if cand.is_file():
            from hydrointerp.data.windows import Normaliser

            return Normaliser.load(cand)
    return None


def _region_stations(region: xr.Dataset, clusters: str | None) -> xr.Dataset:
    ids = [str(s) for s in region["station"].values]
    lat, lon = region["station_lat"].values, region["station_lon"].values
    in_near = (region["basin_mask"] > 0).transpose("station", "lat", "lon")
    if not bool(in_near.any()):
        in_near = in_near_vertices(
            [None] * len(ids), ids, lon, lat, region["lat"].values, region["lon"].values
        )
    regime = [str(r) for r in region["regime"].values] if "regime" in region else None
    if clusters is not None:
        labels = _read_clusters_csv(clusters, ids)
    elif "cluster" in region:
        labels = np.asarray(region["cluster"].values, dtype=int)
    else:
        labels = np.zeros(len(ids), dtype=int)
    table = _station_table(
        ids, lat, lon, region["glacier_fraction"].values, labels, in_near.astype(bool), regime
    )
    table["basin_mask"] = region["basin_mask"].assign_coords(station=table["station"].values)
    return table


# ------------------------------------------------------------------------- predictors
def _model_files(models: Sequence[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for m in models:
        p = Path(m)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in (".h5", ".pt", ".pth"))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError("model file or folder not found", source=str(p))
    if not files:
        raise DataError(
            "no model files found",
            source=", ".join(str(m) for m in models),
            expected="*.h5 or saved models (*.pt)",
            found="none",
        )
    return files


def _is_published_folder(models: Sequence[str | os.PathLike[str]]) -> Path | None:
    if len(models) == 1 and Path(models[0]).is_dir():
        folder = Path(models[0])
        if any(folder.glob("model_bulk_*.h5")) or any(folder.glob("model_fine_*_cluster_*.h5")):
            return folder
    return None


def build_predictor(
    models: Sequence[str | os.PathLike[str]],
    station_ids: Sequence[str],
    clusters: np.ndarray,
    ensemble: str = "fine",
    lookback: int = 365,
    device: str = "cpu",
    n_members: int | None = None,
) -> Predictor:
    """A Predictor from model files or a folder (published or saved models)."""
    from hydrointerp.models.ensemble import Ensemble

    if ensemble not in ENSEMBLE_KINDS:
        raise ConfigError(f"--ensemble must be one of {ENSEMBLE_KINDS}, got {ensemble!r}")
    ids = [str(s) for s in station_ids]
    folder = _is_published_folder(models)
    if folder is not None:
        routing = {s: int(k) for s, k in zip(ids, np.asarray(clusters), strict=True)}
        members = range(n_members) if n_members else _published_member_range(folder, ensemble)
        return Ensemble.load_published(
            folder, ensemble, ids, routing, members=members, device=device
        )
    members = [_load_one(f, device) for f in _model_files(models)]
    return Ensemble(members, ids, lookback).to(device)


def _published_member_range(folder: Path, kind: str) -> range:
    from hydrointerp.models.ensemble import published_members

    files = published_members(folder)[kind]
    n = len(files) if kind == "bulk" else len({f.name.split("_")[2] for f in files})
    return range(n)


def _load_one(path: Path, device: str) -> object:
    from hydrointerp.models.saved import load_model

    return load_model(path, device)


def _simulator(region: xr.Dataset, normaliser: object, lookback: int) -> Predictor:
    from hydrointerp.data.virtual_predictor import SimulatorPredictor

    if normaliser is None:
        raise DataError(
            "the simulator needs the normaliser of the virtual region",
            variable="normaliser.nc",
            expected="normaliser.nc beside region.nc",
            found="none",
        )
    return SimulatorPredictor(
        region,
        normaliser.channel_mean,
        normaliser.channel_std,
        normaliser.flow_mean,
        normaliser.flow_std,
        lookback,
    )


# ------------------------------------------------------------------------- entry point
def _resolve_data(data: str | os.PathLike[str] | None) -> tuple[str, Path | None]:
    """Classify ``--data``: ('mini', path) or ('region', region.nc)."""
    if data is None:
        return "mini", None
    p = Path(data)
    if p.is_file() and p.suffix == ".nc":
        return "region", p
    if p.is_dir() and (p / "region.nc").is_file():
        return "region", p / "region.nc"
    if p.is_dir() and (
        _is_shared(p)
        or (p / "x_intermediate_mini.pickle").is_file()
        or any(_is_shared(q) for q in p.parents)
    ):
        return "mini", p
    raise DataError(
        "cannot tell what --data is",
        source=str(p),
        expected="the shared/mini folder, a region.nc, or a run dir with region.nc",
        found="neither",
    )


def _default_models(kind: str, data_path: Path | None, shared: object) -> list[Path]:
    if kind == "mini":
        return [_shared_root(data_path, shared) / "data" / "cnn_lstm_era" / "models"]
    if data_path is not None and (data_path.parent / "models").is_dir():
        return [data_path.parent / "models"]
    raise ConfigError("--models is required (model files, a folder, or 'simulator')")


def load_inputs(
    models: Sequence[str | os.PathLike[str]] | str | None,
    data: str | os.PathLike[str] | None,
    ensemble: str = "fine",
    clusters: str | os.PathLike[str] | None = None,
    shared: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    lookback: int = 365,
    n_targets: int = 365,
    n_members: int | None = None,
) -> ExperimentInputs:
    """Resolve ``--models`` and ``--data`` into :class:`ExperimentInputs`.

    Parameters
    ----------
    models
        Model files, a folder of models (published ``model_bulk_*`` / ``model_fine_{i}_cluster_{k}``
        or saved models), or ``"simulator"`` for the virtual region's process simulator.
    data
        The shared or mini folder (the published 2011 mini year), a ``region.nc`` (with
        ``normaliser.nc`` beside it for physical regions), or a run dir holding ``region.nc``.
    ensemble
        ``"fine"`` (cluster-routed fine-tuned ensemble, as published) or ``"bulk"``.
    clusters
        CSV with ``station,cluster``; default: the published clustering of the data.
    n_members
        Load only the first ``n_members`` published ensemble members (default: all).
    n_targets
        Number of evaluation days, the last ones with weather (the mini year: all 365 of 2011).

    Example
    -------
    >>> inputs = load_inputs("../shared/data/cnn_lstm_era/models", "../shared")  # doctest: +SKIP
    """
    kind, path = _resolve_data(data)
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    if kind == "mini":
        from hydrointerp.data.mini import read_mini

        root = _shared_root(path, shared)
        region = read_mini(root)
        normaliser = None
        stations = _mini_stations(root, region, None if clusters is None else str(clusters))
        source = f"published mini year from {root}"
    else:
        from hydrointerp.data.region import load

        region = load(path)
        normaliser = _find_normaliser(path)
        stations = _region_stations(region, None if clusters is None else str(clusters))
        source = str(path)
    frames, flow, mean, std = _region_frames(region, normaliser)
    if models and [str(m) for m in models] == ["simulator"]:
        predictor = _simulator(region, normaliser, lookback)
    else:
        model_list = list(models) if models else _default_models(kind, path, shared)
        predictor = build_predictor(
            model_list,
            stations["station"].values.tolist(),
            stations["cluster"].values,
            ensemble,
            lookback,
            device,
            n_members,
        )
    targets = _target_times(frames, flow, int(predictor.lookback), n_targets)
    return ExperimentInputs(predictor, frames, targets, stations, mean, std, flow, source)


def _target_times(
    frames: xr.DataArray, flow: xr.DataArray, lookback: int, n: int
) -> pd.DatetimeIndex:
    start = pd.Timestamp(frames["time"].values[0])
    last = start + pd.Timedelta(days=frames.sizes["time"])
    first = start + pd.Timedelta(days=lookback)
    times = pd.DatetimeIndex(flow["time"].values)
    valid = times[(times >= first) & (times <= last)]
    if len(valid) == 0:
        raise DataError(
            "no target day has a full look-back window",
            variable="time",
            expected=f"flow days from {first.date()} to {last.date()}",
            found=f"{times[0].date()}..{times[-1].date()}",
        )
    return valid[-n:]


def simulator_inputs(
    region: xr.Dataset,
    lookback: int = 365,
    n_targets: int = 365,
    clusters: str | os.PathLike[str] | None = None,
    **simulator_kwargs: object,
) -> ExperimentInputs:
    """Inputs whose predictor is the virtual region's process simulator (the truth).

    Normalised with the region's own statistics (:meth:`SimulatorPredictor.from_region`), so it
    needs no files: handy for the demo and tests.
    """
    from hydrointerp.data.region import weather_end
    from hydrointerp.data.virtual_predictor import SimulatorPredictor

    pred = SimulatorPredictor.from_region(region, lookback, **simulator_kwargs)
    weather = region["weather"].sel(time=slice(None, weather_end(region)))
    frames = weather.copy(data=pred.normalise_weather(weather.values))
    flow = (region["flow"] - pred.flow_mean) / pred.flow_std
    chans = [str(c) for c in region["channel"].values]
    mean, std = _channel_constants(
        dict(zip(chans, pred.weather_mean.tolist(), strict=True)),
        dict(zip(chans, pred.weather_std.tolist(), strict=True)),
        chans,
    )
    stations = _region_stations(region, None if clusters is None else str(clusters))
    targets = _target_times(frames, flow, lookback, n_targets)
    return ExperimentInputs(pred, frames, targets, stations, mean, std, flow, "virtual simulator")
