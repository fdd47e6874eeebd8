"""The ``hydrointerp`` command line: one module per group of verbs, all registered on one app.

Each verb module adds its commands to :data:`hydrointerp.cli.app.app`; user mistakes
(:class:`hydrointerp.errors.HydroInterpError`) are printed without a traceback.
"""

from __future__ import annotations

import sys

from hydrointerp.cli.app import app
from hydrointerp.errors import HydroInterpError

# Verb modules register their commands on import.
from hydrointerp.cli import (  # noqa: E402,F401  isort: skip
    region_cmds,
    model_cmds,
    train_cmds,
    io_cmds,
    experiment_cmds,
    run_cmds,
    interchange_cmds,
)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except HydroInterpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
