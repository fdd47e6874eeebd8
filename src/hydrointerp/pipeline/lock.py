"""One run at a time per run directory: an OS-level lock that dies with its process.

``RUN_DIR/.lock`` is locked with ``fcntl.flock`` for the whole run; the kernel releases the lock
when the process ends in any way (``kill -9`` included), so a killed run never leaves a stale
lock. The file holds the holder's PID, host and start time, for the error a second run gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydrointerp.errors import HydroInterpError

LOCK_NAME = ".lock"


class RunDirectoryLocked(HydroInterpError):
    """Another process is running a study in the same run directory."""


@contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the run directory's lock for the duration of the ``with`` block.

    Raises
    ------
    RunDirectoryLocked
        Naming the holder's PID, host and start time.
    """
    path = Path(run_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirectoryLocked(_holder_message(path)) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # the lock itself goes with the descriptor
    finally:
        os.close(fd)


def _holder_message(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        info = {}
    holder = (
        f"PID {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')}"
    )
    return (
        f"run directory {path.parent} is in use by another hydrointerp run ({holder});"
        " expected: no other run in it; wait for that run to finish, stop it, or choose another"
        " --out"
    )
