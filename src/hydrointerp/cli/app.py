"""The typer application that every verb module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hydrointerp",
    help=(
        "Regional CNN-LSTM streamflow models on gridded weather, and their interpretation.\n\n"
        "Start with `hydrointerp run demo` (virtual region, end to end) or "
        "`hydrointerp run reproduce-mini --shared ../shared` (published models and data)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the hydrointerp version.

    Example: ``hydrointerp version``
    """
    from hydrointerp import __version__

    typer.echo(__version__)
