"""Locate the read-only ``shared/`` folder with the published data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

from hydrointerp.errors import HydroInterpError


def find_shared(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the shared folder: ``explicit``, ``$HYDROINTERP_SHARED``, or ``../shared``.

    ``../shared`` is looked for beside the current directory and beside the repository root.

    Raises
    ------
    HydroInterpError
        When no candidate holds ``data/cnn_lstm_era``.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    if os.environ.get("HYDROINTERP_SHARED"):
        candidates.append(Path(os.environ["HYDROINTERP_SHARED"]))
    candidates.append(Path.cwd().parent / "shared")
    candidates.append(Path(__file__).resolve().parents[3] / "shared")
    for cand in candidates:
        if (cand / "data" / "cnn_lstm_era").is_dir():
            return cand.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise HydroInterpError(
        "shared data folder not found; expected a folder holding data/cnn_lstm_era;"
        f" tried: {tried}."
        " Set HYDROINTERP_SHARED or pass --shared PATH."
    )
