"""The file arguments every reader takes: one path, a glob pattern or a list of both; a missing
or unreadable file as a :class:`~hydrointerp.errors.DataError` naming it."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


def existing(path: str | os.PathLike[str], what: str, *, folder: bool = False) -> Path:
    """``path`` as a Path, or a DataError ("file not found") naming it and ``what`` it holds.

    ``folder=True`` also accepts a folder (a FileGDB, say).
    """
    path = Path(path)
    if not (path.exists() if folder else path.is_file()):
        raise DataError("file not found", source=str(path), variable=what)
    return path


@contextmanager
def reading(
    path: str | os.PathLike[str],
    kind: str,
    *,
    what: str | None = None,
    expected: object = None,
    found: object = None,
    catch: tuple[type[Exception], ...] = (Exception,),
) -> Iterator[None]:
    """Turn a reader's failure inside the block into a DataError naming the file.

    Parameters
    ----------
    path
        The file being read.
    kind
        The format, as in "cannot read ``kind``" (``"NetCDF"``, ``"CSV"``...).
    what, expected, found
        The variable the file holds, the format expected and what was found, for the error.
    catch
        The exceptions that mean a bad file (default: any, as a third-party reader may raise
        anything on unreadable bytes).
    """
    try:
        yield
    except catch as exc:
        raise DataError(
            f"cannot read {kind} ({type(exc).__name__}: {exc})",
            source=str(path),
            variable=what,
            expected=expected,
            found=found,
        ) from exc
