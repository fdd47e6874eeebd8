"""Option types shared by every ``experiment`` verb, so each is described once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
Device = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
Force = Annotated[bool, typer.Option("--force", help="Recompute even if the result exists.")]
Shared = Annotated[str | None, typer.Option("--shared", help="The shared folder (published data).")]
