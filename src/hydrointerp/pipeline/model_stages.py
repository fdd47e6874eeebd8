"""Stages ensemble -> finetune -> skill: train or import the models, and measure their skill.

Trained models are saved as ``models/model_bulk_{i}.pt`` and
``models/model_fine_{i}_cluster_{k}.pt`` (the published naming, ``.pt`` instead of ``.h5``).
Each member and each (member, cluster) fine-tune is one task of the run's task runner, so they
spread over Dask workers when ``workers > 1``; every task carries its own seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_text
from hydrointerp.cf import write_cf
from hydrointerp.config import RunConfig, WindowSpec
from hydrointerp.data.windows import Normaliser
from hydrointerp.models.cnn_lstm import Architecture
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.saved import load_model
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.published import bulk_name, fine_name, published_members
from hydrointerp.training.config import TrainSettings
from hydrointerp.training.finetune import cluster_start
from hydrointerp.training.metrics import SUITE, column_name, physical_skill
from hydrointerp.training.train import train_member

MODELS = "models"
SOURCE = "models/source.json"
PREDICTIONS = "predictions.nc"
SKILL = "skill.csv"
SKILL_NC = "skill.nc"


def published_models_dir(ctx: RunContext) -> Path:
    """The folder of imported models (config, else ``shared/data/cnn_lstm_era/models``)."""
    given = ctx.config.ensemble.import_.models_dir
    if given:
        return Path(given)
    return ds._shared(ctx) / "data" / "cnn_lstm_era" / "models"


# ---------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class MemberTask:
    """Everything one training task needs (picklable, for Dask workers)."""

    run_dir: str
    config: RunConfig
    seed: int
    name: str
    init_from: str | None = None
    stations: tuple[str, ...] | None = None
    head_seed: int = 0


def _train_settings(values: dict[str, Any], device: str, progress: bool) -> TrainSettings:
    """Training settings of the config; the run's ``device`` unless the block names its own."""
    return TrainSettings(**{"progress": progress, "device": device, **values})


def _task_windows(task: MemberTask) -> Any:
    ctx = RunContext(task.config, Path(task.run_dir), None, None)
    windows = ds.load_windows(ctx)
    if task.stations is not None:
        windows = windows.subset_stations(list(task.stations))
    return windows


def train_bulk_task(task: MemberTask) -> str:
    """Train one bulk member (a Dask task)."""

    windows = _task_windows(task)
    settings = _train_settings(task.config.ensemble.training, task.config.device, progress=False)
    channels = int(windows.frames.shape[-1])
    arch = Architecture.for_region(task.config.ensemble.model, windows.n_stations, channels)
    path = train_member(windows, settings, task.seed, task.run_dir, arch=arch, name=task.name)
    return str(path)


def finetune_task(task: MemberTask) -> str:
    """Fine-tune one bulk member on one cluster's stations (a Dask task).

    METHODS.md 2.3 (:mod:`hydrointerp.training.finetune`): the start model's new head is seeded
    with ``task.head_seed`` (``seed + 1000 (k + 1)``, set by :func:`run_finetune`), then all
    layers are retrained with the member's ``seed``.
    """

    cfg = task.config
    everyone = ds.load_windows(RunContext(cfg, Path(task.run_dir), None, None))
    windows = everyone.subset_stations(list(task.stations or everyone.station_ids))
    values = cfg.ensemble.fine_tune.training or cfg.ensemble.training
    settings = _train_settings(values, cfg.device, progress=False)
    init = cluster_start(
        load_model(task.init_from),
        everyone.station_ids,
        windows.station_ids,
        task.head_seed,
        cfg.ensemble.fine_tune.head_init,
    )
    path = train_member(windows, settings, task.seed, task.run_dir, init_model=init, name=task.name)
    return str(path)


# ---------------------------------------------------------------------------- ensemble
def ensemble_outputs(ctx: RunContext) -> list[Path]:
    """Artefacts of the ensemble stage."""
    cfg = ctx.config
    if cfg.ensemble.mode == "import":
        return [ctx.path(SOURCE)]
    return [ctx.path(MODELS, f"{bulk_name(i)}.pt") for i in range(cfg.ensemble.members)]


def _clean(ctx: RunContext, stems: list[str]) -> None:
    """Remove stale checkpoints and models of these members (a fresh, not resumed, run)."""
    for stem in stems:
        ctx.path("checkpoints", f"{stem}.pt").unlink(missing_ok=True)
        ctx.path(MODELS, f"{stem}.pt").unlink(missing_ok=True)


def run_ensemble(ctx: RunContext) -> dict[str, Any]:
    """Train the bulk ensemble, or record where the imported models are."""
    cfg = ctx.config
    if cfg.ensemble.mode == "import":
        return _import(ctx)
    seeds = cfg.ensemble.member_seeds()
    names = [bulk_name(i) for i in range(len(seeds))]
    if not ctx.resuming:
        _clean(ctx, names)
    tasks = [MemberTask(str(ctx.run_dir), cfg, s, n) for s, n in zip(seeds, names, strict=True)]
    paths = ctx.tasks.map(train_bulk_task, tasks, desc="bulk members")
    return {"members": len(paths), "seeds": seeds, "logs": _epochs(ctx, names)}


def _epochs(ctx: RunContext, names: list[str]) -> dict[str, int]:
    out = {}
    for n in names:
        log = ctx.path(f"train_log_{n}.csv")
        if log.is_file():
            out[n] = int(len(pd.read_csv(log)))
    return out


def _import(ctx: RunContext) -> dict[str, Any]:
    folder = published_models_dir(ctx)
    found = published_members(folder)
    kind = ctx.config.ensemble.import_.kind
    if not found["bulk"] or (kind == "fine" and not found["fine"]):
        raise ds.StageUnavailable(
            f"no published models in {folder}; expected model_bulk_*.h5 and"
            " model_fine_*_cluster_*.h5 (set ensemble.import.models_dir or --shared)"
        )
    info = {
        "models_dir": str(folder.resolve()),
        "bulk": len(found["bulk"]),
        "fine": len(found["fine"]),
    }
    write_text(ctx.path(SOURCE), json.dumps(info, indent=1))
    return info


# ---------------------------------------------------------------------------- fine-tune
def finetune_outputs(ctx: RunContext) -> list[Path]:
    """Artefacts of the finetune stage (one model per member and cluster)."""
    cfg = ctx.config
    k = ds.n_clusters(cfg)
    return [
        ctx.path(MODELS, f"{fine_name(i, c)}.pt")
        for i in range(cfg.ensemble.members)
        for c in range(k)
    ]


def run_finetune(ctx: RunContext) -> dict[str, Any]:
    """Fine-tune every bulk member on every station cluster."""
    cfg = ctx.config
    clusters = ds.load_clusters(ctx)
    groups = _cluster_stations(clusters)
    seeds = cfg.ensemble.member_seeds()
    tasks = [
        MemberTask(
            str(ctx.run_dir),
            cfg,
            seed,
            fine_name(i, k),
            init_from=str(ctx.path(MODELS, f"{bulk_name(i)}.pt")),
            stations=tuple(groups[k]),
            head_seed=seed + 1000 * (k + 1),
        )
        for i, seed in enumerate(seeds)
        for k in sorted(groups)
    ]
    if not ctx.resuming:
        _clean(ctx, [t.name for t in tasks])
    ctx.tasks.map(finetune_task, tasks, desc="fine-tunes")
    return {"models": len(tasks), "clusters": {int(k): len(v) for k, v in groups.items()}}


def _cluster_stations(clusters: xr.DataArray) -> dict[int, list[str]]:
    ids = [str(s) for s in clusters["station"].values]
    out: dict[int, list[str]] = {}
    for s, k in zip(ids, clusters.values, strict=True):
        out.setdefault(int(k), []).append(s)
    return out


# ---------------------------------------------------------------------------- loading
def has_fine(cfg: RunConfig) -> bool:
    """Whether the run has a fine-tuned ensemble."""
    if cfg.ensemble.mode == "import":
        return cfg.ensemble.import_.kind == "fine"
    return cfg.ensemble.fine_tune.enabled


def load_ensemble(ctx: RunContext, kind: str) -> Any:
    """The run's ``bulk`` or cluster-routed ``fine`` ensemble."""
    clusters = ds.load_clusters(ctx)
    ids = [str(s) for s in clusters["station"].values]
    cfg = ctx.config
    lookback = cfg.windows.lookback
    if cfg.ensemble.mode == "import":
        mapping = dict(zip(ids, (int(k) for k in clusters.values), strict=True))
        return Ensemble.load_published(
            published_models_dir(ctx), kind, ids, clusters=mapping, device=cfg.device
        )
    n = cfg.ensemble.members
    if kind == "bulk":
        members = [load_model(ctx.path(MODELS, f"{bulk_name(i)}.pt"), cfg.device) for i in range(n)]
        return Ensemble(members, ids, lookback)
    groups = {
        k: (
            [load_model(ctx.path(MODELS, f"{fine_name(i, k)}.pt"), cfg.device) for i in range(n)],
            stations,
        )
        for k, stations in _cluster_stations(clusters).items()
    }
    return Ensemble.routed(groups, ids, lookback)


# ---------------------------------------------------------------------------- skill
def run_skill(ctx: RunContext) -> dict[str, Any]:
    """Predict the test period with each ensemble; write ``predictions.nc`` and ``skill.csv``."""
    region = ds.load_region(ctx)
    spec = ds.window_spec(ctx.config, region)
    norm = Normaliser.load(ctx.path(ds.NORMALISER))
    frames = norm.transform_weather(region)
    flow = norm.transform_flow(region["flow"]).transpose("time", "station")
    times = _test_times(flow, frames, spec)
    kinds = ["bulk", "fine"] if has_fine(ctx.config) else ["bulk"]
    preds = {}
    for kind in kinds:
        pred = load_ensemble(ctx, kind).predict(frames, times)
        preds[f"{kind}_member"] = pred["prediction"]
        preds[f"{kind}_mean"] = pred["ensemble_mean"]
    out = xr.Dataset(preds)
    out["observed"] = flow.sel(time=times).astype(np.float32)
    out["observed"].attrs.update(units="1", long_name="normalised observed discharge")
    out.attrs.update(period=f"{times[0].date()}..{times[-1].date()}", split="test")
    write_cf(
        _with_discharge(out, kinds, norm),
        ctx.path(PREDICTIONS),
        "hydrointerp test-period predictions",
    )
    scores = {kind: skill_scores(out, kind, norm) for kind in kinds}
    table = skill_table(out, scores)
    write_text(ctx.path(SKILL), table.to_csv(index=False))
    write_cf(skill_dataset(out, scores), ctx.path(SKILL_NC), "hydrointerp test-period skill")
    med = {k: float(np.nanmedian(table[f"nse_{k}"])) for k in kinds}
    units = "1 (normalised)" if norm.identity else "m3 s-1"
    return {
        "median_nse": med,
        "period": out.attrs["period"],
        "n_days": int(len(times)),
        "flow_units": units,
    }


def _test_times(flow: xr.DataArray, frames: xr.DataArray, spec: WindowSpec) -> Any:
    times = pd.DatetimeIndex(flow["time"].values)
    start = pd.Timestamp(frames["time"].values[0])
    last = start + pd.Timedelta(days=frames.sizes["time"])
    first = start + pd.Timedelta(days=spec.lookback)
    a, b = spec.split.years("test")
    keep = (times >= first) & (times <= last) & (times.year >= a) & (times.year <= b)
    return times[keep]


def _with_discharge(pred: xr.Dataset, kinds: list[str], norm: Any) -> xr.Dataset:
    """``pred`` plus the observed and ensemble-mean discharge in m3/s (physical runs only)."""
    if norm.identity:
        return pred
    out = pred.copy()
    out["observed_discharge"] = norm.inverse_flow(pred["observed"])
    out["observed_discharge"].attrs["long_name"] = "observed daily mean discharge"
    for kind in kinds:
        name = f"{kind}_mean_discharge"
        out[name] = norm.inverse_flow(pred[f"{kind}_mean"])
        out[name].attrs["long_name"] = f"{kind} ensemble-mean simulated daily mean discharge"
    return out


def skill_scores(pred: xr.Dataset, kind: str, norm: Any) -> xr.Dataset:
    """The metric suite of one ensemble (mean and members) on the test period, in m3/s."""
    return physical_skill(pred["observed"], pred[f"{kind}_member"], norm)


def skill_table(pred: xr.Dataset, scores: dict[str, xr.Dataset]) -> Any:
    """One row per station: every metric of each model's mean, units in the column names."""
    table = pd.DataFrame({"station_id": [str(s) for s in pred["station"].values]})
    for kind, ds_ in scores.items():
        ds_ = ds_.sel(station=pred["station"])
        for name in SUITE:
            if name in ds_:
                table[column_name(name, kind, ds_[name].attrs["units"])] = ds_[name].values
    return table


def skill_dataset(pred: xr.Dataset, scores: dict[str, xr.Dataset]) -> xr.Dataset:
    """``skill.nc``: ``<metric>_<kind>(station)`` and ``<metric>_<kind>_member(member, station)``
    with units and long names, and the stations' coordinates of ``pred``."""
    out = xr.Dataset(coords={k: v for k, v in pred["station"].coords.items()})
    for kind, ds_ in scores.items():
        for name in ds_.data_vars:
            metric = str(name).removesuffix("_member")
            var = f"{metric}_{kind}" + ("_member" if metric != name else "")
            out[var] = ds_[name].sel(station=pred["station"])
            out[var].attrs["long_name"] = f"{kind}: {ds_[name].attrs['long_name']}"
    out.attrs.update(pred.attrs)
    return out
