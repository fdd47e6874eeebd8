"""CLI verbs ``experiment NAME`` (any registered experiment) and ``fidelity``.

``hydrointerp experiment NAME --set key=value ...`` runs one registered experiment
(:func:`hydrointerp.experiments.catalog.registry`) on a model ensemble or the virtual region's
simulator and writes ``RUN_DIR/experiments/<file>.nc`` with its figures. Settings are the
experiment class's fields (``--set perturbation.iters_total=200 --set method=saliency``; values
are read as YAML); ``--quick`` puts the experiment's own quick settings under them, exactly as a
run config's ``experiments.quick``. A finished result with the same settings is not recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import xarray as xr
import yaml

from hydrointerp.cli.app import app
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
from hydrointerp.cli.resolve import resolve_data, resolve_inputs
from hydrointerp.cli.results import skip_if_done, write_result
from hydrointerp.errors import ConfigError
from hydrointerp.experiments.base import DEFAULT_TARGETS
from hydrointerp.experiments.catalog import experiment_class, registry
from hydrointerp.fidelity.output import write_fidelity
from hydrointerp.fidelity.table import SUMMARY, headline

Quick = Annotated[
    bool,
    typer.Option("--quick", help="Small run: the experiment's quick settings under --set's."),
]
Set = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="A setting KEY=VALUE of the experiment (dotted keys for nested blocks, e.g."
        " perturbation.iters_total=200; VALUE read as YAML). Repeatable.",
    ),
]
DayStep = Annotated[
    int | None, typer.Option("--day-step", help="Use every N-th target day (target_step).")
]
Figures = Annotated[bool, typer.Option("--figures/--no-figures", help="Draw the figures.")]


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=[1, 2]"]`` -> ``{"a": {"b": 1}, "c": [1, 2]}``.

    Raises
    ------
    ConfigError
        For an item without ``=`` or a value that is not valid YAML.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: value {raw!r} is not valid YAML ({exc})") from None
        *parents, leaf = key.strip().split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is set both as a value and a block")
        node[leaf] = value
    return out


def _truth_region(data: str | None) -> xr.Dataset | None:
    """The region file behind ``--data`` when it is a virtual region with truth."""
    kind, path = resolve_data(data)
    if kind != "region" or path is None:
        return None
    region = xr.load_dataset(path, engine="h5netcdf")
    return region if "flow_component" in region else None


def _help() -> str:
    lines = [
        "Run one interpretation experiment on a model ensemble (or the virtual region's"
        " simulator) and write RUN_DIR/experiments/<file>.nc plus its figures.",
        "",
        "NAME is a registered experiment:",
    ]
    lines += [f"  {name}: {cls.title}" for name, cls in registry().items()]
    lines += [
        "",
        "Examples: ``hydrointerp experiment heat_map --data ../shared --out runs/mini --quick``;"
        " ``hydrointerp experiment daily --set method=saliency --set target_step=30``;"
        " ``hydrointerp experiment warming --set delta_t=[5,0,-5] --set swapped_means=true``.",
    ]
    return "\n\n".join(lines)


@app.command("experiment", help=_help())
def experiment_cmd(
    name: Annotated[str, typer.Argument(help="A registered experiment (heat_map, daily, ...).")],
    models: Models = None,
    data: Data = None,
    ensemble: Ensemble = "fine",
    clusters: Clusters = None,
    out: Out = Path("runs/mini"),
    quick: Quick = False,
    settings: Set = None,
    members: Members = None,
    day_step: DayStep = None,
    device: Device = "cpu",
    shared: Shared = None,
    figures: Figures = True,
    force: Force = False,
) -> None:
    cls = experiment_class(name)
    given = parse_sets(settings)
    if members is not None:
        given["members"] = members
    if day_step is not None:
        given["target_step"] = day_step
    exp = cls.from_settings(given, quick, where=f"--set ({cls.name})")
    record = {
        "models": [str(m) for m in models] if models else "default",
        "data": str(data),
        "ensemble": ensemble,
        "clusters": str(clusters),
        **exp.record(),
    }
    stem = exp.result_stem()
    if skip_if_done(out, stem, record, force):
        return
    inputs = resolve_inputs(
        models,
        data,
        ensemble=ensemble,
        clusters=clusters,
        shared=shared,
        device=device,
        n_members=exp.members,
        n_targets=exp.n_targets or DEFAULT_TARGETS,
    )
    result = exp(inputs, progress=True)
    write_result(result, out, stem, record)
    line = exp.summary(result)
    if line:
        typer.echo(line)
    if figures:
        for path in exp.draw(result, out / "figures"):
            typer.echo(f"wrote {path}")
    region = _truth_region(data)
    if region is not None:
        for further, ds in exp.truth_outputs(exp.select(inputs), result, region).items():
            write_result(ds, out, further, record)


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
    table = write_fidelity(run_dir, n_boot)
    cols = [*SUMMARY, "flag"]
    typer.echo(headline(table)[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
