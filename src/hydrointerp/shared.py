"""Locate the read-only ``shared/`` folder with the published data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

from hydrointerp.errors import HydroInterpError

ENV = "HYDROINTERP_SHARED"
_MARKER = Path("data") / "cnn_lstm_era"


def _explicit(path: Path, how: str) -> Path:
    """An explicitly named folder must exist and hold the data: no fallback to another one."""
    if not path.is_dir():
        raise HydroInterpError(
            f"shared data folder not found; {how}: {path}; expected: an existing folder holding"
            f" {_MARKER}; found: {'a file' if path.exists() else 'no such folder'}"
        )
    if not (path / _MARKER).is_dir():
        raise HydroInterpError(
            f"not a shared data folder; {how}: {path}; expected: a folder holding {_MARKER};"
            f" found: {sorted(p.name for p in path.iterdir())[:10]}"
        )
    return path.resolve()


def find_shared(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the shared folder: ``explicit``, ``$HYDROINTERP_SHARED``, or ``../shared``.

    An explicit location (the argument, i.e. ``--shared``, or the environment variable) must be
    a shared folder: a wrong one is an error, never a silent fall back to another folder.
    Otherwise ``../shared`` is looked for beside the current directory and beside the repository
    root.

    Raises
    ------
    HydroInterpError
        When the explicit location is not a shared folder, or no candidate holds
        ``data/cnn_lstm_era``.
    """
    if explicit is not None:
        return _explicit(Path(explicit), "--shared")
    if os.environ.get(ENV):
        return _explicit(Path(os.environ[ENV]), ENV)
    candidates = [Path.cwd().parent / "shared", Path(__file__).resolve().parents[3] / "shared"]
    for cand in candidates:
        if (cand / _MARKER).is_dir():
            return cand.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise HydroInterpError(
        f"shared data folder not found; expected a folder holding {_MARKER};"
        f" tried: {tried}."
        f" Set {ENV} or pass --shared PATH."
    )
