"""What every experiment needs, as objects: :class:`ExperimentInputs`.

It holds a Predictor (a model, an ensemble, the fine-tuned ensemble routed by cluster, or the
virtual region's simulator), the normalised input days, the target days of the evaluation period,
and per-station metadata (cluster, glacier fraction, regime group, in/near mask), plus the
normalisation constants and the observed flow. :meth:`ExperimentInputs.from_region` builds it
from a predictor, a region (a RegionData or the published mini year) and its station table
(:func:`region_stations`, :func:`mini_stations`); :func:`simulator_inputs` from a virtual region
alone. Turning command-line paths (``--models``, ``--data``, ``--shared``) into these objects is
the CLI's job (:mod:`hydrointerp.cli.resolve`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.mini import read_flowseason
from hydrointerp.data.region import is_normalised, weather_end
from hydrointerp.data.virtual_predictor import SimulatorPredictor
from hydrointerp.errors import DataError
from hydrointerp.experiments.metrics_spatial import in_near_vertices
from hydrointerp.experiments.regimes import cluster_name, groups_from_regime, regime_groups
from hydrointerp.io.geo import in_near_mask, read_outlines
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.predictor import Predictor
from hydrointerp.published import CHANNEL_MEAN, CHANNEL_STD, LOOKBACK, member_count
from hydrointerp.training.cluster import cluster_stations

#: The published basin outlines, relative to the shared folder.
OUTLINES = Path("data") / "basins" / "stationBasins_partial_226.geojson"


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
    checkpoint_dir
        Where long perturbation sweeps save their state after every pass (resume after a kill);
        None: no checkpoints.
    tasks
        How the perturbation sweeps split into member x day-block tasks
        (:class:`hydrointerp.experiments.sweep_tasks.TaskPlan`); None: in this process, one
        block.
    """

    predictor: Predictor
    frames: xr.DataArray
    target_times: pd.DatetimeIndex
    stations: xr.Dataset
    channel_mean: xr.DataArray
    channel_std: xr.DataArray
    flow_obs: xr.DataArray
    source: str = ""
    checkpoint_dir: Path | None = None
    tasks: Any = None

    @classmethod
    def from_region(
        cls,
        predictor: Predictor,
        region: xr.Dataset,
        stations: xr.Dataset,
        normaliser: object | None = None,
        n_targets: int = 365,
        source: str = "",
    ) -> ExperimentInputs:
        """Inputs of ``predictor`` on ``region`` (a RegionData or the published mini year).

        Parameters
        ----------
        stations
            The station table (:func:`region_stations` or :func:`mini_stations`).
        normaliser
            The :class:`~hydrointerp.data.windows.Normaliser` of a physical (not normalised)
            region; unused for a normalised one (its constants are in its attributes).
        n_targets
            Evaluation days: the last ones with weather and a full look-back window.
        """
        frames, flow, mean, std = region_frames(region, normaliser)
        targets = target_times(frames, flow, int(predictor.lookback), n_targets)
        return cls(predictor, frames, targets, stations, mean, std, flow, source)

    @property
    def lookback(self) -> int:
        """Look-back window length of the predictor (days)."""
        return int(self.predictor.lookback)

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

    def first_members(self, n: int) -> ExperimentInputs:
        """The same inputs with only the predictor's first ``n`` ensemble members."""
        return replace(self, predictor=self.predictor.first_members(n))


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


# ------------------------------------------------------------------------- station tables
def _labels(cluster: xr.DataArray | Sequence[int] | np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """Cluster labels in the order of ``ids``: a labelled ``cluster(station)`` is selected by
    station, a plain sequence taken as it is."""
    if not isinstance(cluster, xr.DataArray):
        return np.asarray(cluster, dtype=np.int64)
    known = {str(s) for s in cluster["station"].values}
    missing = [s for s in ids if s not in known]
    if missing:
        raise DataError(
            "stations without a cluster",
            source=str(cluster.attrs.get("source", "cluster labels")),
            variable="cluster",
            expected=f"{len(ids)} stations",
            found=f"missing {missing[:5]}",
        )
    labelled = cluster.assign_coords(station=[str(s) for s in cluster["station"].values])
    return np.asarray(labelled.sel(station=list(ids)).values, dtype=np.int64)


def mini_stations(
    shared_dir: str | os.PathLike[str],
    region: xr.Dataset,
    cluster: xr.DataArray | Sequence[int] | None = None,
) -> xr.Dataset:
    """The station table of the published mini year: in/near pixels from the published basin
    outlines in ``shared_dir``, clusters given or (default) the published clustering."""
    root = Path(shared_dir)
    ids = [str(s) for s in region["station"].values]
    lat = region["station_lat"].values
    lon = region["station_lon"].values
    if cluster is not None:
        labels = _labels(cluster, ids)
    else:
        labels = np.asarray(cluster_stations(read_flowseason(root), lat, lon).values)
    outlines = read_outlines(root / OUTLINES)
    in_near = in_near_mask(outlines, ids, lon, lat, region["lat"].values, region["lon"].values)
    gf = region["glacier_fraction"].values
    return _station_table(ids, lat, lon, gf, labels, in_near.astype(bool))


def region_stations(
    region: xr.Dataset, cluster: xr.DataArray | Sequence[int] | None = None
) -> xr.Dataset:
    """The station table of a RegionData: in/near from its basin masks (else the gauges),
    clusters given, else the region's own, else all 0."""
    ids = [str(s) for s in region["station"].values]
    lat, lon = region["station_lat"].values, region["station_lon"].values
    in_near = (region["basin_mask"] > 0).transpose("station", "lat", "lon")
    if not bool(in_near.any()):
        in_near = in_near_vertices(
            [None] * len(ids), ids, lon, lat, region["lat"].values, region["lon"].values
        )
    regime = [str(r) for r in region["regime"].values] if "regime" in region else None
    if cluster is not None:
        labels = _labels(cluster, ids)
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
def published_ensemble(
    models_dir: str | os.PathLike[str],
    kind: str,
    stations: xr.Dataset,
    n_members: int | None = None,
    device: str = "cpu",
) -> Ensemble:
    """The published ``kind`` ensemble (``"bulk"`` or ``"fine"``) over the table's stations,
    the fine one routed by its ``cluster``; the first ``n_members`` (default: all in the folder)."""
    ids = [str(s) for s in stations["station"].values]
    routing = {s: int(k) for s, k in zip(ids, stations["cluster"].values, strict=True)}
    n = n_members or member_count(models_dir, kind)
    return Ensemble.load_published(models_dir, kind, ids, routing, members=range(n), device=device)


# ------------------------------------------------------------------------- frames and targets
def region_frames(region: xr.Dataset, normaliser: object | None = None) -> tuple[xr.DataArray, ...]:
    """``(frames, flow, channel_mean, channel_std)``: the normalised input days and flow of a
    region, with the channels' normalisation constants (physical units)."""
    weather = region["weather"].sel(time=slice(None, weather_end(region)))
    chans = [str(c) for c in region["channel"].values]
    if is_normalised(region):
        attrs = region.attrs
        mean = {c: float(attrs.get(f"normalisation_{c}_mean_K", CHANNEL_MEAN[c])) for c in chans}
        std = {c: float(attrs.get(f"normalisation_{c}_std_K", CHANNEL_STD[c])) for c in chans}
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
    frames = normaliser.transform_weather(region)  # type: ignore[attr-defined]
    flow = normaliser.transform_flow(region["flow"])  # type: ignore[attr-defined]
    m = normaliser.channel_mean.sel(channel=chans).rename("channel_mean")  # type: ignore[attr-defined]
    s = normaliser.channel_std.sel(channel=chans).rename("channel_std")  # type: ignore[attr-defined]
    return frames.astype(np.float32), flow, m, s


def target_times(
    frames: xr.DataArray, flow: xr.DataArray, lookback: int, n: int
) -> pd.DatetimeIndex:
    """The last ``n`` flow days whose look-back window lies in ``frames``."""
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
    lookback: int = LOOKBACK,
    n_targets: int = 365,
    cluster: xr.DataArray | Sequence[int] | None = None,
    **simulator_kwargs: object,
) -> ExperimentInputs:
    """Inputs whose predictor is the virtual region's process simulator (the truth).

    Normalised with the region's own statistics (:meth:`SimulatorPredictor.from_region`), so it
    needs no files: handy for the demo and tests. ``cluster``: station clusters (labelled
    ``cluster(station)`` or in station order; default the region's own).
    """
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
    stations = region_stations(region, cluster)
    targets = target_times(frames, flow, lookback, n_targets)
    return ExperimentInputs(pred, frames, targets, stations, mean, std, flow, "virtual simulator")
