"""CLI verbs of the interchange with other tools: ``export caravan`` (and ``baseline``)."""

from __future__ import annotations

from pathlib import Path

import typer

from hydrointerp.cli.app import app
from hydrointerp.interchange.caravan import export_caravan, read_export_source

export_app = typer.Typer(
    help="Write a run's (or a region's) data in another tool's layout.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@export_app.command("caravan")
def export_caravan_cmd(
    source: Path = typer.Argument(..., help="A run folder (its region.nc) or a region.nc file."),
    out: Path = typer.Argument(..., help="The Caravan root folder to write."),
    name: str = typer.Option(
        "hydrointerp", "--source-name", help="Caravan sub-dataset name (letters and digits)."
    ),
) -> None:
    """Basin-averaged daily forcings, streamflow and attributes in the Caravan layout.

    Writes ``OUT/timeseries/netcdf/<name>/<name>_<station>.nc`` and
    ``OUT/attributes/<name>/*.csv``, which neuralhydrology's Caravan dataset reads.

    Example: ``hydrointerp export caravan runs/demo caravan_demo``
    """
    region, origin = read_export_source(source)
    info = export_caravan(region, out, name, origin)
    typer.echo(
        f"wrote {out}: {len(info['gauges'])} gauges, {info['n_days']} days ({info['period']})"
    )
