"""Option types shared by every ``experiment`` verb, so each is described once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hydrointerp.device import checked_device
from hydrointerp.errors import ConfigError

Models = Annotated[
    list[str] | None,
    typer.Option("--models", help="Model files, a folder of models, or 'simulator'."),
]
Data = Annotated[
    str | None,
    typer.Option("--data", help="The shared/mini folder, a region.nc, or a run dir with one."),
]
Ensemble = Annotated[str, typer.Option("--ensemble", help="fine (routed by cluster) or bulk.")]
Clusters = Annotated[
    str | None, typer.Option("--clusters", help="CSV station,cluster (default: published rule).")
]
Out = Annotated[Path, typer.Option("--out", help="Run folder; writes experiments/ and figures/.")]
Members = Annotated[int | None, typer.Option("--members", help="Use only the first N members.")]


def checked_device_option(value: str) -> str:
    """``--device`` callback: a device this machine can use, else a one-line ConfigError."""
    try:
        return checked_device(value)
    except ValueError as exc:
        raise ConfigError(f"--device: {exc}; expected: cpu or an available GPU") from None


Device = Annotated[
    str,
    typer.Option(
        "--device", help="torch device: cpu, cuda, cuda:1 ...", callback=checked_device_option
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Recompute even if the result exists.")]
Shared = Annotated[str | None, typer.Option("--shared", help="The shared folder (published data).")]
