"""Stages figures -> report: the study-region and skill figures, then ``report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from hydrointerp.data.windows import Normaliser
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline.baseline_stage import KIND, load_baseline
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.plots.region import save_region_figures
from hydrointerp.plots.skill import plot_gauge_panels, plot_nse_cdf
from hydrointerp.plots.study_region import study_region_figure
from hydrointerp.plots.training import (
    plot_cluster_patterns,
    plot_nse_boxplots,
    plot_nse_map,
    plot_training_curves,
)
from hydrointerp.report.build import build_report
from hydrointerp.training import metrics
from hydrointerp.training.metrics import metrics_table

FIGURES = "figures"
STUDY_REGION = "figures/study_region.png"
REPORT = "report.html"


def run_figures(ctx: RunContext) -> dict[str, Any]:
    """Write the study-region figure and whatever skill/region figures the plot modules offer."""
    region = ds.load_region(ctx)
    clusters = ds.load_clusters(ctx)
    season = ds.seasonal_flow(ctx, region)
    shared = ds._shared(ctx) if ctx.config.data.source == "mini" else ctx.shared
    title = f"Study region: {ctx.config.name} ({region.sizes['station']} stations)"
    written = [study_region_figure(region, season, ctx.path(STUDY_REGION), clusters, shared, title)]
    extra = _extra_figures(ctx, region, clusters, season)
    return {"figures": [str(Path(p).relative_to(ctx.run_dir)) for p in written], **extra}


def _extra_figures(ctx: RunContext, region: Any, clusters: Any, season: Any) -> dict[str, Any]:
    """Region and skill figures of plots/region.py and plots/training.py (when installed)."""
    out_dir = ctx.path(FIGURES)
    done, failed = [], {}
    jobs = []
    if "regime" in region:
        jobs.append(("region_map", lambda: _region_figures(region, out_dir)))
    jobs += [
        ("cluster_patterns", lambda: _cluster_patterns(region, clusters, season, out_dir)),
        ("nse", lambda: _skill_figures(ctx, region, clusters, out_dir)),
        ("training_curves", lambda: _training_curves(ctx, out_dir)),
    ]
    for name, job in jobs:
        try:
            done += [Path(p).name for p in job()]
        except ImportError as exc:
            failed[name] = f"plot module not installed: {exc}"
        except Exception as exc:  # noqa: BLE001 - one missing figure must not lose the report
            failed[name] = repr(exc)
    return {"extra_figures": done, "figure_failures": failed}


def _region_figures(region: Any, out_dir: Path) -> list[Path]:
    return save_region_figures(region, out_dir)


def _cluster_patterns(region: Any, clusters: Any, season: Any, out_dir: Path) -> list[Path]:
    ids = clusters["station"].values
    lat = region["station_lat"].sel(station=ids).values
    lon = region["station_lon"].sel(station=ids).values
    path = plot_cluster_patterns(
        season.sel(station=ids), clusters, lat, lon, out_dir / "cluster_patterns.png"
    )
    return [path]


def _training_curves(ctx: RunContext, out_dir: Path) -> list[Path]:
    """Loss per epoch of every model the run trained (none for imported models)."""
    logs = sorted(ctx.run_dir.glob("train_log_*.csv"))
    return [plot_training_curves(logs, out_dir / "training_curves.png")] if logs else []


def _skill_figures(ctx: RunContext, region: Any, clusters: Any, out_dir: Path) -> list[Path]:
    pred = xr.load_dataset(ctx.path("predictions.nc"), engine="h5netcdf")
    ids = pred["station"].values
    lat = region["station_lat"].sel(station=ids).values
    lon = region["station_lon"].sel(station=ids).values
    tables = {
        k: metrics_table(pred["observed"], pred[f"{k}_member"])
        for k in ("bulk", "fine")
        if f"{k}_member" in pred
    }
    out = []
    for kind, table in tables.items():
        out.append(
            plot_nse_map(
                table,
                lat,
                lon,
                out_dir / f"nse_map_{kind}.png",
                title=f"{kind} ensemble-mean NSE, test period",
            )
        )
    if len(tables) == 2:
        out.append(
            plot_nse_boxplots(
                tables["bulk"],
                tables["fine"],
                clusters.sel(station=ids),
                out_dir / "nse_boxplots.png",
            )
        )
    return out + _hydrologist_figures(ctx, pred, {k: t["nse"] for k, t in tables.items()}, out_dir)


def _hydrologist_figures(
    ctx: RunContext, pred: Any, nse: dict[str, Any], out_dir: Path
) -> list[Path]:
    """NSE CDF across gauges; hydrographs and FDCs of the best/median/worst gauge (m3/s)."""
    if not nse:
        return []
    norm = Normaliser.load(ctx.path(ds.NORMALISER))

    def physical(da: Any) -> Any:
        return da if norm.identity else norm.inverse_flow(da)

    sims = {kind: physical(pred[f"{kind}_mean"]) for kind in nse}
    main = "fine" if "fine" in nse else next(iter(nse))
    lumped = load_baseline(ctx)
    if lumped is not None:
        obs = physical(pred["observed"])
        nse = {**nse, KIND: metrics.nse(obs, lumped.sel(time=obs["time"]))}
        sims[KIND] = lumped
    return [
        plot_nse_cdf(nse, out_dir / "nse_cdf.png", "Ensemble-mean NSE across gauges, test"),
        plot_gauge_panels(
            physical(pred["observed"]), sims, nse[main], out_dir / "gauges_best_median_worst.png"
        ),
    ]


def run_report(ctx: RunContext) -> dict[str, Any]:
    """Write ``report.html``."""
    path = build_report(ctx.run_dir, ctx.config)
    return {"report": str(path.relative_to(ctx.run_dir)), "bytes": path.stat().st_size}
