"""The training stage end to end: config -> run directory with normaliser, members, fine-tunes,
metrics and figures. ``hydrointerp train`` and the pipeline call :func:`run_training`.

Run directory layout::

    config.yaml  normaliser.nc  checkpoints/  models/member_<i>.pt  models/fine_<i>_cluster_<k>.pt
    train_log_<name>.csv  clusters.csv  metrics_bulk.{csv,nc}  metrics_fine.{csv,nc}  figures/
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_text
from hydrointerp.data import region as region_io
from hydrointerp.data.mini import read_flowseason, read_mini
from hydrointerp.data.virtual import generate_region
from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.data.windows import Normaliser, Windows, WindowSpec, make_windows
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.plots import training as plots
from hydrointerp.training.cluster import (
    cluster_features,
    cluster_stations,
    clusters_table,
    read_clusters_table,
    seasonal_flow,
)
from hydrointerp.training.config import RunConfig, dump_config
from hydrointerp.training.finetune import bulk_ensemble, finetune_clusters, routed_ensemble
from hydrointerp.training.metrics import metrics_table, summary, write_metrics
from hydrointerp.training.train import train_ensemble


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    members: list[Path]
    fine: dict[int, list[Path]] = field(default_factory=dict)
    summaries: dict[str, dict] = field(default_factory=dict)


def load_region(data: str, virtual: dict | None = None) -> xr.Dataset:
    """``"virtual"`` (simulated with ``virtual`` settings), ``"mini"`` or a region.nc path."""
    if data == "virtual":
        try:
            cfg = VirtualRegionConfig(**(virtual or {}))
        except ValueError as exc:
            raise ConfigError(f"invalid virtual region settings: {exc}") from exc
        return generate_region(cfg)
    if data == "mini":
        return read_mini(basin_masks=False)
    return region_io.load(data)


def auto_split(dates: pd.DatetimeIndex, lookback: int) -> dict[str, tuple[int, int]]:
    """Year split for records the published years do not fit: the years with complete look-back,
    first ~2/3 train, then ~1/6 validation, the rest test (at least one year each)."""
    first = (dates[0] + pd.Timedelta(days=lookback)).year
    years = list(range(first, dates[-1].year + 1))
    if len(years) < 3:
        raise ConfigError(f"record {dates[0].date()}..{dates[-1].date()} is too short to split")
    n_test = max(1, round(len(years) / 6))
    n_val = max(1, round(len(years) / 6))
    n_train = len(years) - n_val - n_test
    return {
        "train_years": (years[0], years[n_train - 1]),
        "val_years": (years[n_train], years[n_train + n_val - 1]),
        "test_years": (years[n_train + n_val], years[-1]),
    }


def resolve_spec(spec: WindowSpec, region: xr.Dataset) -> WindowSpec:
    """Use the configured split years, or :func:`auto_split` when none were given and the
    published years do not lie in the record."""
    dates = pd.DatetimeIndex(region["time"].values)
    explicit = {"train_years", "val_years", "test_years"} & spec.model_fields_set
    covered = dates[0].year <= spec.train_years[0] - 1 and dates[-1].year >= spec.test_years[1]
    if explicit or covered:
        return spec
    return spec.model_copy(update=auto_split(dates, spec.lookback))


def _predict(ens: Ensemble, windows: Windows, split: str) -> xr.DataArray:
    obs = windows.observed(split)
    pred = ens.predict_members(windows.frames, windows.splits[split]).numpy()
    return xr.DataArray(
        pred,
        dims=("member", "time", "station"),
        coords={"time": obs["time"], "station": obs["station"]},
        name="flow",
    )


def evaluate(ens: Ensemble, windows: Windows, norm: Normaliser, split: str = "test") -> xr.Dataset:
    """Metrics of an ensemble on a split, in m3/s (identity normaliser: normalised units)."""
    obs = windows.observed(split)
    pred = _predict(ens, windows, split)
    if not norm.identity:
        obs, pred = norm.inverse_flow(obs), norm.inverse_flow(pred)
    table = metrics_table(obs, pred)
    table.attrs.update(split=split, period=f"{obs.time.values[0]}..{obs.time.values[-1]}"[:50])
    return table


def _clusters(cfg: RunConfig, region: xr.Dataset) -> xr.DataArray:
    if cfg.finetune.clusters_csv:
        clusters = read_clusters_table(cfg.finetune.clusters_csv)
        missing = set(map(str, region["station"].values)) - set(clusters["station"].values)
        if missing:
            raise DataError(
                "stations without a cluster",
                source=cfg.finetune.clusters_csv,
                variable="station_id",
                found=sorted(missing)[:10],
            )
        return clusters.sel(station=list(region["station"].values))
    fs = seasonal_flow(region)
    return cluster_stations(
        fs, region["station_lat"].values, region["station_lon"].values, cfg.finetune.n_clusters
    )


def run_training(
    cfg: RunConfig, run_dir: str | os.PathLike[str], region: xr.Dataset | None = None
) -> TrainResult:
    """Train the configured ensemble (and fine-tunes), evaluate on the test years, draw figures."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    region = load_region(cfg.data, cfg.virtual) if region is None else region
    spec = resolve_spec(cfg.windows, region)
    cfg = cfg.model_copy(update={"windows": spec})
    write_text(out / "config.yaml", dump_config(cfg))
    norm = Normaliser().fit(region, spec.fit_years())
    norm.save(out / "normaliser.nc")
    windows = make_windows(region, norm, spec)
    arch = cfg.model.architecture(windows.n_stations, region.sizes["channel"])
    seeds = cfg.ensemble.member_seeds()
    members = train_ensemble(windows, cfg.train, seeds, out, arch=arch)
    result = TrainResult(out, members)
    figs = out / "figures"
    plots.plot_training_curves(
        sorted(out.glob("train_log_member_*.csv")), figs / "training_curves.png"
    )
    lat, lon = region["station_lat"].values, region["station_lon"].values
    bulk = evaluate(bulk_ensemble(members, windows.station_ids, spec.lookback), windows, norm)
    write_metrics(bulk, out / "metrics_bulk")
    plots.plot_nse_map(bulk, lat, lon, figs / "nse_map_bulk.png", "Bulk ensemble NSE (test)")
    result.summaries["bulk"] = summary(bulk)
    if cfg.finetune.enabled:
        clusters = _clusters(cfg, region)
        write_text(out / "clusters.csv", clusters_table(clusters).to_csv(index=False))
        result.fine = finetune_clusters(
            windows, members, clusters, cfg.finetune_train(), seeds, out, cfg.finetune.head_init
        )
        fine_ens = routed_ensemble(result.fine, clusters, windows.station_ids, spec.lookback)
        fine = evaluate(fine_ens, windows, norm)
        write_metrics(fine, out / "metrics_fine")
        plots.plot_nse_map(fine, lat, lon, figs / "nse_map_fine.png", "Fine-tuned ensemble NSE")
        plots.plot_nse_boxplots(bulk, fine, clusters, figs / "nse_boxplots.png")
        result.summaries["fine"] = summary(fine)
    write_text(out / "summary.csv", pd.DataFrame(result.summaries).T.to_csv())
    return result


def clustering_inputs(
    source: str | os.PathLike[str],
) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    """``(flowseason, lat, lon)`` from a mini/shared folder (published ``flowseason_norm``), a
    region.nc file, or ``"virtual"`` (the default virtual region)."""
    src = str(source)
    p = Path(src)
    if src != "virtual" and p.is_dir():
        fs = read_flowseason(p)
        mini = read_mini(p, basin_masks=False)
        return fs, mini["station_lat"].values, mini["station_lon"].values
    region = load_region(src)
    return seasonal_flow(region), region["station_lat"].values, region["station_lon"].values


def run_clustering(
    source: str | os.PathLike[str], n_clusters: int, out_csv: str | os.PathLike[str]
) -> xr.DataArray:
    """Cluster stations and write ``out_csv`` plus dendrogram and pattern figures beside it."""
    fs, lat, lon = clustering_inputs(source)
    clusters = cluster_stations(fs, lat, lon, n_clusters)
    out = Path(out_csv)
    write_text(out, clusters_table(clusters).to_csv(index=False))
    stem = out.with_suffix("")
    plots.plot_dendrogram(cluster_features(fs, lat, lon), f"{stem}_dendrogram.png", n_clusters)
    plots.plot_cluster_patterns(fs, clusters, lat, lon, f"{stem}_patterns.png")
    return clusters
