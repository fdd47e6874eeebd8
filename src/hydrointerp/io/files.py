"""Expanding the file arguments every reader takes: one path, a glob pattern, or a list of both."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from hydrointerp.errors import DataError

PathsLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def expand_paths(paths: PathsLike, what: str) -> list[Path]:
    """Files from one path, a glob pattern, or a list of paths and patterns (sorted per pattern).

    Parameters
    ----------
    paths
        A path, a glob pattern (``*``, ``?``, ``[``), or a sequence of them.
    what
        What the files hold (``"ERA5"``, ``"flow CSV"``), named in errors.

    Raises
    ------
    DataError
        When a pattern matches nothing or no file is given.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[Path] = []
    for item in items:
        text = str(item)
        if any(c in text for c in "*?["):
            found = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
            if not found:
                raise DataError("no file matches the pattern", source=text, variable=what)
            out.extend(found)
        else:
            out.append(Path(item))
    if not out:
        raise DataError("no files given", variable=what, expected=">= 1 file", found=0)
    return out
