"""Stages figures -> report: the study-region and skill figures, then ``report.html``."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline.runner import RunContext

FIGURES = "figures"
STUDY_REGION = "figures/study_region.png"
REPORT = "report.html"


def _optional_plot(module: str, name: str) -> Any:
    """A plotting function of another module, or None when that module is not installed."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _call(fn: Any, **available: Any) -> Any:
    """Call ``fn`` with the keyword arguments it accepts out of ``available``."""
    params = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in available.items() if k in params})


def run_figures(ctx: RunContext) -> dict[str, Any]:
    """Write the study-region figure and whatever skill/region figures the plot modules offer."""
    from hydrointerp.plots.study_region import study_region_figure

    region = ds.load_region(ctx)
    clusters = ds.load_clusters(ctx)
    season = ds.seasonal_flow(ctx, region)
    shared = ds._shared(ctx) if ctx.config.data.source == "mini" else ctx.shared
    title = f"Study region: {ctx.config.name} ({region.sizes['station']} stations)"
    written = [study_region_figure(region, season, ctx.path(STUDY_REGION), clusters, shared, title)]
    extra = _extra_figures(ctx, region, clusters, season)
    return {"figures": [str(Path(p).relative_to(ctx.run_dir)) for p in written], **extra}


def _extra_figures(ctx: RunContext, region: Any, clusters: Any, season: Any) -> dict[str, Any]:
    """Figures from plots/region.py and plots/training.py when they are installed."""
    out_dir = ctx.path(FIGURES)
    done, failed = [], {}
    candidates = [
        ("hydrointerp.plots.region", "region_figures"),
        ("hydrointerp.plots.training", "skill_figures"),
        ("hydrointerp.plots.training", "cluster_figures"),
    ]
    for module, name in candidates:
        fn = _optional_plot(module, name)
        if fn is None:
            continue
        try:
            _call(
                fn,
                region=region,
                clusters=clusters,
                season=season,
                flowseason=season,
                out_dir=out_dir,
                run_dir=ctx.run_dir,
                skill=ctx.path("skill.csv"),
            )
            done.append(f"{module}.{name}")
        except Exception as exc:  # noqa: BLE001 - one missing figure must not lose the report
            failed[f"{module}.{name}"] = repr(exc)
    return {"plot_modules": done, "plot_failures": failed}


def run_report(ctx: RunContext) -> dict[str, Any]:
    """Write ``report.html``."""
    from hydrointerp.report.build import build_report

    path = build_report(ctx.run_dir, ctx.config)
    return {"report": str(path.relative_to(ctx.run_dir)), "bytes": path.stat().st_size}
