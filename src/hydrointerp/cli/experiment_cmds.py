"""CLI verbs: ``experiment heat-map``, ``experiment daily``, ``experiment channels``.

Published settings are the defaults; ``--quick`` makes a small run (2 members, every 30th day,
20 masks). A finished ``experiments/<name>.nc`` with the same settings is not recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hydrointerp.cli.app import app, experiment_app  # noqa: F401
from hydrointerp.cli.options import (
    Clusters,
    Data,
    Device,
    Ensemble,
    Force,
    Members,
    Models,
    Out,
    Shared,
)
from hydrointerp.cli.results import skip_if_done, write_result

Quick = Annotated[
    bool, typer.Option("--quick", help="Small run: 2 members, every 30th day, 20 masks.")
]
MaskMode = Annotated[
    str,
    typer.Option(
        "--mask-mode", help="shared (fast: same masks for all days) or per_day (published)."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the mask generator.")]
Method = Annotated[
    str,
    typer.Option(
        "--method",
        help="An attribution method: perturbation (published), rise, occlusion, basin_ablation,"
        " saliency, input_x_gradient, integrated_gradients, integrated_gradients_climatology,"
        " gradient_shap, smoothgrad. Other than perturbation, results go to <file>_<method>.nc.",
    ),
]
DayStep = Annotated[int | None, typer.Option("--day-step", help="Use every N-th target day.")]
Figures = Annotated[bool, typer.Option("--figures/--no-figures", help="Draw the figures.")]

QUICK_DAY_STEP = 30
QUICK_MASKS = (10, 20)


def _inputs(models, data, ensemble, clusters, quick, members, device, shared, day_step):  # noqa: ANN001, ANN202
    from hydrointerp.experiments.inputs import load_inputs

    n = members if members is not None else (2 if quick else None)
    inputs = load_inputs(
        models,
        data,
        ensemble=ensemble,
        clusters=clusters,
        shared=shared,
        device=device,
        n_members=n,
    )
    step = day_step if day_step is not None else (QUICK_DAY_STEP if quick else 1)
    return inputs.every_nth_target(step) if step > 1 else inputs


def _run_settings(models, data, ensemble, clusters, quick, members, day_step) -> dict:  # noqa: ANN001
    return {
        "models": [str(m) for m in models] if models else "default",
        "data": str(data),
        "ensemble": ensemble,
        "clusters": str(clusters),
        "quick": quick,
        "members": members,
        "day_step": day_step,
    }


def _masks(quick: bool, one_pass: int, total: int) -> tuple[int, int]:
    return QUICK_MASKS if quick else (one_pass, total)


def _named(file: str, method: str) -> str:
    """Result/figure name of ``method`` (the published perturbation keeps the plain name)."""
    from hydrointerp.experiments.attribution_methods import result_name

    return result_name(file, method)


@experiment_app.command("heat-map")
def heat_map_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    mask_mode: MaskMode = "shared",
    method: Method = "perturbation",
    seed: Seed = 0,
    day_step: DayStep = None,
    device: Device = "cpu",
    shared: Shared = None,
    figures: Figures = True,
    force: Force = False,
) -> None:
    """HESS spatial sensitivity heat maps with metrics A and D (METHODS.md 5.1).

    Writes RUN_DIR/experiments/heat_map.nc (sensitivity(station, lat, lon), area_a, ks_d per
    cluster) and figures/heat_map_clusters.png (one map per cluster, like HESS Fig 7).

    Example: ``hydrointerp experiment heat-map --data ../shared --out runs/mini --quick``
    """
    from hydrointerp.experiments.heat_map import HeatSettings, heat_map

    one, total = _masks(quick, 50, 100)
    hs = HeatSettings(
        iters_one_pass=one, iters_total=total, mask_mode=mask_mode, seed=seed, method=method
    )
    settings = {
        **_run_settings(models, data, ensemble, clusters, quick, members, day_step),
        **hs.to_dict(),
    }
    name = _named("heat_map", method)
    if skip_if_done(out, name, settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared, day_step)
    ds = heat_map(inputs, hs)
    write_result(ds, out, name, settings)
    typer.echo(
        "metric D per cluster: "
        + ", ".join(
            f"{n}={d:+.3f}"
            for n, d in zip(ds["cluster_name"].values, (ds.ks_d * ds.ks_sign).values, strict=True)
        )
    )
    if figures:
        from hydrointerp.plots.heat_map import plot_cluster_heat_maps

        path = out / "figures" / f"{_named('heat_map_clusters', method)}.png"
        typer.echo(f"wrote {plot_cluster_heat_maps(ds, path)}")


@experiment_app.command("daily")
def daily_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    mask_mode: MaskMode = "shared",
    method: Method = "perturbation",
    pattern_rule: Annotated[
        str, typer.Option("--pattern-rule", help="location (prototype) or flow_threshold.")
    ] = "location",
    seed: Seed = 0,
    day_step: DayStep = None,
    device: Device = "cpu",
    shared: Shared = None,
    figures: Figures = True,
    force: Force = False,
) -> None:
    """Experiment 1: daily sensitivity maps through the year, two patterns per cluster, GIFs.

    Writes RUN_DIR/experiments/sensitivity_daily.nc and figures/sensitivity_daily_cluster_K.gif.

    Example: ``hydrointerp experiment daily --data ../shared --out runs/mini --quick``
    """
    from hydrointerp.experiments.daily import DailySettings, sensitivity_daily

    one, total = _masks(quick, 20, 200)
    ds_settings = DailySettings(
        iters_one_pass=one,
        iters_total=total,
        mask_mode=mask_mode,
        seed=seed,
        pattern_rule=pattern_rule,
        method=method,
    )
    settings = {
        **_run_settings(models, data, ensemble, clusters, quick, members, day_step),
        **ds_settings.to_dict(),
    }
    name = _named("sensitivity_daily", method)
    if skip_if_done(out, name, settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared, day_step)
    ds = sensitivity_daily(inputs, ds_settings)
    write_result(ds, out, name, settings)
    if figures and method != "perturbation":
        typer.echo("the Experiment 1 GIFs are drawn for the perturbation method only")
    elif figures:
        from hydrointerp.plots.daily import plot_daily_gifs

        for path in plot_daily_gifs(ds, out / "figures"):
            typer.echo(f"wrote {path}")


@experiment_app.command("channels")
def channels_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    mask_mode: MaskMode = "shared",
    method: Method = "perturbation",
    seed: Seed = 0,
    day_step: DayStep = None,
    device: Device = "cpu",
    shared: Shared = None,
    figures: Figures = True,
    force: Force = False,
) -> None:
    """Experiment 2: temperature vs precipitation importance through the year per regime group.

    Writes RUN_DIR/experiments/channel_importance.nc and figures/channel_sensitivity.png.

    Example: ``hydrointerp experiment channels --data ../shared --out runs/mini --quick``
    """
    from hydrointerp.experiments.channels import ChannelSettings, channel_importance

    one, total = _masks(quick, 20, 200)
    cs = ChannelSettings(
        iters_one_pass=one, iters_total=total, mask_mode=mask_mode, seed=seed, method=method
    )
    settings = {
        **_run_settings(models, data, ensemble, clusters, quick, members, day_step),
        **cs.to_dict(),
    }
    name = _named("channel_importance", method)
    if skip_if_done(out, name, settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared, day_step)
    ds = channel_importance(inputs, cs)
    write_result(ds, out, name, settings)
    if figures:
        from hydrointerp.plots.channels import plot_channel_sensitivity

        fig = out / "figures" / f"{_named('channel_sensitivity', method)}.png"
        path = plot_channel_sensitivity(ds, fig)
        typer.echo(f"wrote {path}")
