"""Resumable result files for the experiment verbs: skip a finished one, write and announce."""

from __future__ import annotations

from pathlib import Path

import typer
import xarray as xr

from hydrointerp.experiments.output import experiment_done, experiment_path, write_experiment


def skip_if_done(out: Path, name: str, settings: dict, force: bool) -> bool:
    """True (and say so) when ``out/experiments/<name>.nc`` exists with these settings."""
    if not force and experiment_done(out, name, settings):
        typer.echo(f"{experiment_path(out, name)} exists with these settings; skipping")
        return True
    return False


def write_result(ds: xr.Dataset, out: Path, name: str, settings: dict) -> Path:
    """Write ``out/experiments/<name>.nc`` atomically and print its path."""
    path = write_experiment(ds, out, name, settings)
    typer.echo(f"wrote {path}")
    return path
