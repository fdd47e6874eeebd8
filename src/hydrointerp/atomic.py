"""Atomic writes: write to a temporary file beside the target, then rename over it.

Faults of the file system become one :class:`~hydrointerp.errors.WriteError` naming the path:

* a full disk (``ENOSPC``/``EDQUOT``, also when a library such as h5py wraps it in its own
  message) says how much was written before the disk filled and how much is free;
* a read-only or forbidden folder (``EROFS``/``EACCES``/``EPERM``) says so.

The temporary file is removed in every case, so no partial file is left and the target keeps its
old content; a rerun resumes. :func:`write_netcdf` (and any caller that passes ``need_bytes``)
checks the free space *before* writing, because the HDF5 library can crash the process when the
disk fills in the middle of a write.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from hydrointerp.errors import WriteError

_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
#: Free space kept beyond an estimated need, for metadata and file-system slack.
MARGIN_BYTES = 1 << 20


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def free_bytes(folder: Path) -> int:
    """Free bytes for an unprivileged writer on the file system holding ``folder``."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(shutil.disk_usage(probe).free)


def _fault(exc: BaseException) -> str | None:
    """``"full"``, ``"read-only"`` or None for an error that is no file-system fault."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in _FULL or "No space left on device" in text or "errno = 28" in text:
        return "full"
    if code in _READ_ONLY or "Read-only file system" in text or "errno = 30" in text:
        return "read-only"
    return None


def _write_error(target: Path, kind: str, exc: BaseException, written: int) -> WriteError:
    if kind == "full":
        free = free_bytes(target.parent)
        return WriteError(
            f"cannot write {target}: disk full; wrote {_mb(written)} before the disk filled;"
            f" expected: at least {_mb(written + MARGIN_BYTES)} free in {target.parent};"
            f" found: {_mb(free)} free. Free some space and rerun (finished work is kept)"
        )
    return WriteError(
        f"cannot write {target}: the folder is read-only or not writable"
        f" ({type(exc).__name__}: {exc}); expected: a writable folder; found: {target.parent}"
    )


def check_free_space(path: str | os.PathLike[str], need_bytes: int) -> None:
    """Raise :class:`WriteError` unless ``need_bytes`` (plus a margin) are free beside ``path``."""
    target = Path(path)
    free = free_bytes(target.parent)
    if free < need_bytes + MARGIN_BYTES:
        raise WriteError(
            f"cannot write {target}: not enough free space in {target.parent};"
            f" expected: at least {_mb(need_bytes + MARGIN_BYTES)} free; found: {_mb(free)} free."
            " Free some space and rerun (finished work is kept)"
        )


@contextmanager
def atomic_path(path: str | os.PathLike[str], need_bytes: int | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was; a full disk or
    a read-only folder becomes a :class:`~hydrointerp.errors.WriteError` naming the path.

    Parameters
    ----------
    path
        The target file.
    need_bytes
        When given, the free space is checked before anything is written.
    """
    target = Path(path)
    try:
        if need_bytes is not None:
            check_free_space(target, need_bytes)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        kind = _fault(exc)
        if kind is None or isinstance(exc, WriteError):
            raise
        raise _write_error(target, kind, exc, 0) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_current_umask())  # mkstemp makes 0600; honour the umask
        os.replace(tmp_path, target)
    except Exception as exc:
        kind = None if isinstance(exc, WriteError) else _fault(exc)
        if kind is None:
            raise
        written = tmp_path.stat().st_size if tmp_path.exists() else 0
        tmp_path.unlink(missing_ok=True)
        raise _write_error(target, kind, exc, written) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` (a Zarr
    store, say) in two renames, so readers see the old store or the new one, never a mix.

    On an exception the temporary folder is removed and ``path`` is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        kind = _fault(exc)
        if kind is None:
            raise
        raise _write_error(target, kind, exc, 0) from exc
    old = target.with_name(f".{target.name}.old")
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
    except Exception as exc:
        kind = None if isinstance(exc, WriteError) else _fault(exc)
        if kind is None:
            raise
        raise _write_error(target, kind, exc, 0) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], object], need_bytes: int | None = None
) -> Path:
    """Call ``write(tmp_path)`` and atomically move the result to ``path``."""
    with atomic_path(path, need_bytes) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write text atomically."""
    return atomic_write(path, lambda p: p.write_text(text))


def write_netcdf(ds: xr.Dataset | xr.DataArray, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset to NetCDF4 atomically, after checking the disk has room for it."""
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "data")
    return atomic_write(path, lambda p: ds.to_netcdf(p, engine="h5netcdf"), need_bytes=ds.nbytes)
