"""The ``device`` setting shared by run configs and training settings, and each worker's GPU.

With ``device: cuda`` every process places its models on "the" CUDA device, torch's current
one. :func:`bind_worker_gpu` (called by the task runner in every task) makes that one GPU per
Dask worker: a worker started with ``CUDA_VISIBLE_DEVICES=i`` sees only GPU ``i``, as its
``cuda:0``; a worker that sees several GPUs (a ``LocalCluster`` on a multi-GPU node) takes GPU
``worker number mod GPU count``. docs/scaling.md shows both set-ups.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from pydantic import AfterValidator


def checked_device(value: str) -> str:
    """``value`` if it names a torch device this machine can use (``cpu``, ``cuda``, ``cuda:1``).

    Raises
    ------
    ValueError
        Not a torch device name, or a CUDA device on a machine without CUDA.
    """
    try:
        dev = torch.device(value)
    except RuntimeError as exc:
        raise ValueError(f"device {value!r} is not a torch device ({exc})") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {value!r}: CUDA is not available on this machine")
    return value


#: A pydantic field type: a device name checked by :func:`checked_device`.
DeviceName = Annotated[str, AfterValidator(checked_device)]


def worker_gpu(env: Mapping[str, str], gpu_count: int, worker_name: Any = None) -> int | None:
    """The CUDA device index a process should use (None: no GPU).

    ``CUDA_VISIBLE_DEVICES`` set: 0, the first (for one GPU per worker, the only) device of
    its visible set. Else the Dask worker's number (``worker_name``: an integer, as a
    ``LocalCluster`` names its workers) modulo ``gpu_count``, and 0 for any other process.
    """
    if gpu_count < 1:
        return None
    if env.get("CUDA_VISIBLE_DEVICES", "").strip():
        return 0
    try:
        return int(worker_name) % gpu_count
    except (TypeError, ValueError):
        return 0


def _dask_worker_name() -> Any:
    """The name of the Dask worker running this code, or None outside a worker."""
    try:
        from distributed import get_worker  # local: only inside Dask tasks
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        return get_worker().name
    except ValueError:
        return None


def bind_worker_gpu() -> int | None:
    """Make this process's current CUDA device its own GPU (:func:`worker_gpu`); return it."""
    if not torch.cuda.is_available():
        return None
    index = worker_gpu(os.environ, torch.cuda.device_count(), _dask_worker_name())
    if index is not None:
        torch.cuda.set_device(index)
    return index
