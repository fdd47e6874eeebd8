"""CLI verbs: io (``hydrointerp build-region``)."""

from __future__ import annotations

from pathlib import Path

import typer

from hydrointerp.cli.app import app


@app.command("build-region")
def build_region_cmd(
    config: Path = typer.Argument(..., help="Build config YAML (see build_region_template.yaml)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write region.nc (default: the config's output)."
    ),
    template: bool = typer.Option(
        False,
        "--template",
        help="Write a commented template config to CONFIG (must not exist) instead of building.",
    ),
) -> None:
    """Build a RegionData (region.nc) from ERA5 NetCDF, HYDAT/WSC flow, basins and glaciers.

    Prints the stations kept and dropped (with the reason), the period, missing fractions and
    glacier classes. Paths in the config are relative to the config file.

    Example: ``hydrointerp build-region my_region.yaml -o runs/region.nc``;
    ``hydrointerp build-region my_region.yaml --template`` writes a template to edit.
    """
    from hydrointerp.atomic import write_text
    from hydrointerp.errors import ConfigError
    from hydrointerp.io.assemble import build_region_file
    from hydrointerp.io.build_config import TEMPLATE_PATH

    if template:
        if config.exists():
            raise ConfigError(f"{config} exists; choose a new file name for the template")
        write_text(config, TEMPLATE_PATH.read_text())
        typer.echo(f"wrote template config {config}")
        return
    path, summary = build_region_file(config, str(output) if output else None)
    typer.echo(summary.format())
    typer.echo(f"wrote {path}")
