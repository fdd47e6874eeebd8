"""CLI verbs: warming, August test, drivers (Exp 3), cell states (Exp 4) and fidelity."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from hydrointerp.cli.app import app, experiment_app
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

Quick = Annotated[bool, typer.Option("--quick", help="Small run: 2 members, 3 values of dT.")]


def _inputs(models, data, ensemble, clusters, quick, members, device, shared):  # noqa: ANN001, ANN202
    from hydrointerp.experiments.inputs import load_inputs

    n = members if members is not None else (2 if quick else None)
    return load_inputs(
        models,
        data,
        ensemble=ensemble,
        clusters=clusters,
        shared=shared,
        device=device,
        n_members=n,
    )


def _delta_t(quick: bool) -> list[float]:
    from hydrointerp.experiments.warming import DELTA_T

    return [5.0, 0.0, -5.0] if quick else [float(x) for x in DELTA_T]


@experiment_app.command("warming")
def warming_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    swapped_means: Annotated[
        bool, typer.Option(help="Reproduce the mini notebook's swapped Tmax/Tmin means.")
    ] = False,
    device: Device = "cpu",
    shared: Shared = None,
    force: Force = False,
) -> None:
    """Uniform warming/cooling (dT = +5..-5 K): freshet timing and peak per cluster against the
    freezing-transition day (HESS Fig 9, 10). Writes experiments/warming.nc.

    Example: ``hydrointerp experiment warming --models ../shared/data/cnn_lstm_era/models
    --data ../shared --out runs/mini``
    """
    from hydrointerp.experiments.warming import warming_from_inputs
    from hydrointerp.plots.warming import plot_freshet_tracking, plot_freshet_vs_freezing

    settings = dict(
        models=models,
        data=data,
        ensemble=ensemble,
        clusters=clusters,
        delta_t=_delta_t(quick),
        members=members if members else (2 if quick else 0),
        swapped_means=swapped_means,
    )
    if skip_if_done(out, "warming", settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared)
    ds = warming_from_inputs(inputs, _delta_t(quick), swapped_means)
    write_result(ds, out, "warming", settings)
    plot_freshet_tracking(ds, out / "figures" / "warming_freshet_tracking.png")
    plot_freshet_vs_freezing(ds, out / "figures" / "warming_freshet_vs_freezing.png")


@experiment_app.command("august")
def august_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    device: Device = "cpu",
    shared: Shared = None,
    force: Force = False,
) -> None:
    """August temperature test: only the trailing August input days warmed; slope dQ/dT per
    station against glacier cover, by glacier class (HESS Fig 11). Writes experiments/august.nc.

    Example: ``hydrointerp experiment august --models ../shared/data/cnn_lstm_era/models
    --data ../shared --out runs/mini``
    """
    from hydrointerp.experiments.august import august_from_inputs, class_medians
    from hydrointerp.plots.august import plot_august

    settings = dict(
        models=models,
        data=data,
        ensemble=ensemble,
        clusters=clusters,
        delta_t=_delta_t(quick),
        members=members if members else (2 if quick else 0),
    )
    if skip_if_done(out, "august", settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared)
    ds = august_from_inputs(inputs, _delta_t(quick))
    write_result(ds, out, "august", settings)
    plot_august(ds, out / "figures" / "august_dQ_dT_glaciers.png")
    typer.echo(
        "median slope per glacier class: " + ", ".join(f"{v:.4f}" for v in class_medians(ds).values)
    )


@experiment_app.command("drivers")
def drivers_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    members: Members = None,
    antecedent: Annotated[str, typer.Option(help="Lag 0 = last_input (t-1) or target (t).")] = (
        "last_input"
    ),
    max_lag: Annotated[int, typer.Option(help="Antecedent days 0..max_lag.")] = 3,
    region: Annotated[str, typer.Option(help="in_near, basin or cluster.")] = "in_near",
    top_fraction: Annotated[float, typer.Option(help="Share of a season's days as events.")] = 0.1,
    n_events: Annotated[int | None, typer.Option(help="Fixed events per season.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap and random days.")] = 0,
    device: Device = "cpu",
    shared: Shared = None,
    force: Force = False,
) -> None:
    """Experiment 3: weather anomalies on the antecedent days of the largest modelled flow rises,
    per station, season and regime, with bootstrap intervals and a random-day test.
    Writes experiments/drivers.nc.

    Example: ``hydrointerp experiment drivers --models ../shared/data/cnn_lstm_era/models
    --data ../shared --out runs/mini --max-lag 3``
    """
    from hydrointerp.experiments.drivers import DriverSettings, drivers_from_inputs
    from hydrointerp.plots.drivers import plot_driver_boxes, plot_summer_tmax_vs_glacier

    st = DriverSettings(
        antecedent=antecedent,
        max_lag=max_lag,
        region=region,
        top_fraction=top_fraction,
        n_events=n_events,
        n_boot=200 if quick else n_boot,
        n_random=200 if quick else n_boot,
        seed=seed,
    )
    settings = dict(
        models=models,
        data=data,
        ensemble=ensemble,
        clusters=clusters,
        members=members if members else (2 if quick else 0),
        **asdict(st),
    )
    if skip_if_done(out, "drivers", settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, quick, members, device, shared)
    ds = drivers_from_inputs(inputs, st)
    write_result(ds, out, "drivers", settings)
    plot_driver_boxes(ds, out / "figures" / "drivers_0antecedent.png")
    plot_summer_tmax_vs_glacier(ds, out / "figures" / "drivers_summer_tmax_vs_glacier.png")


@experiment_app.command("cell-states")
def cell_states_cmd(
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    cluster: Annotated[int, typer.Option("--cluster", help="Cluster label (0 = Central).")] = 0,
    published_shift: Annotated[
        bool, typer.Option(help="Shift temperature +1 day as the published series.")
    ] = False,
    quick: Quick = False,
    members: Members = None,
    device: Device = "cpu",
    shared: Shared = None,
    force: Force = False,
) -> None:
    """Experiment 4: glacier runoff in LSTM cell states of one cluster's models; on a virtual
    region also the probe against the true glacier melt. Writes experiments/cell_states.nc
    (and experiments/probe.nc).

    Example: ``hydrointerp experiment cell-states --models ../shared/data/cnn_lstm_era/models
    --data ../shared --cluster 0 --out runs/mini``
    """
    from hydrointerp.experiments.cell_states import CellStateSettings, cell_states_from_inputs
    from hydrointerp.plots.cell_states import plot_cell_state_panels

    st = CellStateSettings(published_shift=published_shift)
    settings = dict(
        models=models,
        data=data,
        ensemble=ensemble,
        clusters=clusters,
        cluster=cluster,
        members=members or 0,
        **asdict(st),
    )
    if skip_if_done(out, "cell_states", settings, force):
        return
    inputs = _inputs(models, data, ensemble, clusters, False, members, device, shared)
    ds = cell_states_from_inputs(inputs, cluster, st)
    write_result(ds, out, "cell_states", settings)
    plot_cell_state_panels(ds, out / "figures" / "cell_state_panels.png")
    typer.echo(
        f"{ds.attrs['n_selected_units']} units selected, groups {ds.attrs['group_sizes']},"
        f" best lag {ds.attrs['best_lag']} d"
    )
    _maybe_probe(inputs, data, cluster, out, settings)


def _maybe_probe(inputs, data, cluster: int, out: Path, settings: dict) -> None:  # noqa: ANN001
    from hydrointerp.experiments.inputs import _resolve_data

    kind, path = _resolve_data(data)
    if kind != "region" or path is None:
        return
    import xarray as xr

    region = xr.load_dataset(path, engine="h5netcdf")
    if "flow_component" not in region or not bool((region["glacier_fraction"] > 0.01).any()):
        return
    from hydrointerp.experiments.probe import probe_from_inputs

    ds = probe_from_inputs(inputs, region, cluster)
    write_result(ds, out, "probe", settings)
    typer.echo(
        f"probe: mean R2 selected {ds.attrs['mean_r2_selected']:.3f}, random "
        f"{ds.attrs['mean_r2_random']:.3f}, p = {ds.attrs['p_value']:.3f}"
    )


@app.command("fidelity")
def fidelity_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder with experiments/ and region.nc.")],
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of every interval.")] = 1000,
) -> None:
    """Score every interpretation of a virtual-region run against the simulator's truth:
    skill against the best trivial explainer, with intervals and flags (docs/fidelity.md).
    Writes RUN_DIR/fidelity.csv, fidelity.nc and figures/fidelity.png.

    Example: ``hydrointerp fidelity runs/demo``
    """
    from hydrointerp.fidelity.output import write_fidelity
    from hydrointerp.fidelity.table import SUMMARY, headline

    table = write_fidelity(run_dir, n_boot)
    cols = [*SUMMARY, "flag"]
    typer.echo(headline(table)[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
