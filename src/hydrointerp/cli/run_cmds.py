"""CLI verb ``run``: one command for the whole study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hydrointerp.cli.app import app
from hydrointerp.config import BUILTIN
from hydrointerp.pipeline import run_study

#: the options of the study verbs (``run``, ``train``), described once
RunConfigArg = Annotated[
    str,
    typer.Argument(help="A run config YAML, or a built-in name: " + ", ".join(BUILTIN) + "."),
]
RunDir = Annotated[Path | None, typer.Option("--out", help="Run directory (default runs/NAME).")]
SharedDir = Annotated[
    Path | None,
    typer.Option("--shared", help="Shared data folder (mini year, published models)."),
]
ForceStages = Annotated[
    list[str] | None,
    typer.Option("--force", help="Recompute this stage and everything downstream (repeatable)."),
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", help="Dask workers on this machine (>1 starts a local cluster)."),
]


@app.command()
def run(
    config: RunConfigArg,
    out: RunDir = None,
    shared: SharedDir = None,
    force: ForceStages = None,
    workers: Workers = None,
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://host:8786."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Stop after this stage (runs it and the stages it reads from)."
    ),
) -> None:
    """Run a whole study: data, windows, ensemble, experiments, fidelity, figures, report.

    Every stage writes its artefacts atomically into the run directory and is skipped when they
    exist and its settings and inputs are unchanged, so a killed run resumes where it stopped.

    Examples: ``hydrointerp run demo``;
    ``hydrointerp run reproduce-mini --shared ../shared --out runs/mini``;
    ``hydrointerp run my_region.yaml --force experiments --workers 4``;
    ``hydrointerp run demo --until experiment.heat_map``.
    """
    log = run_study(config, out, shared, force or (), workers, scheduler, until=until)
    run_dir = out if out is not None else Path("runs") / log["name"]
    report = Path(run_dir) / "report.html"
    typer.echo(f"finished in {log['seconds']:.1f} s: {run_dir}")
    if report.is_file():
        typer.echo(f"report: {report}")
