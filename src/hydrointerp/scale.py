"""Scale-out on Dask: ensemble members, fine-tunes and perturbation chunks as tasks.

:func:`task_runner` gives a :class:`TaskRunner` whose :meth:`TaskRunner.map` runs a function over
a list of task arguments:

- ``workers <= 1`` and no scheduler: serially in this process (no Dask cluster);
- ``workers > 1``: on a ``dask.distributed.LocalCluster`` with ``workers`` single-threaded
  worker processes;
- ``scheduler="tcp://host:8786"``: on an existing cluster (``dask-scheduler`` started by hand,
  or a dask-jobqueue ``SLURMCluster``/``PBSCluster``; pass ``cluster.scheduler_address``).

Every task gets its own deterministic seed from its arguments (never from the worker it lands on)
and torch is limited to ``threads_per_task`` threads in the task, so a distributed run gives the
same numbers as the serial one. Results come back in the order of the arguments.

A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (the default of
``distributed.nanny.pre-spawn-environ``). Setting it switches off glibc's sliding mmap threshold:
every array above 128 KiB is then a fresh ``mmap`` whose pages fault in on first touch and go
back to the system on free. The perturbation sweeps allocate such tensors at every CNN call, so a
5-member heat-map task of the published models took 21.7 s instead of 17.7 s (2.5 million minor
page faults instead of 0.13 million; ``benchmarks/scale_experiments.py``). Every task therefore
first calls :func:`tune_allocator` (once per process), which raises the two thresholds again;
``HYDROINTERP_MALLOC_TUNING=0`` in the worker's environment leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dask
import torch
from distributed import Client, LocalCluster, as_completed
from tqdm.auto import tqdm

from hydrointerp.device import bind_worker_gpu
from hydrointerp.errors import ConfigError

T = TypeVar("T")


#: glibc ``mallopt`` parameters and the values :func:`tune_allocator` gives them: blocks below
#: 32 MiB (the largest mmap threshold glibc accepts on 64-bit) come from the heap, and up to
#: 64 MiB of free heap top is kept for the next allocation
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES = 32 * 2**20, 64 * 2**20


@functools.cache
def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds in this process (once), so that the tensors a
    task allocates and frees over and over are reused instead of mapped and faulted in anew.

    Returns True when the thresholds are set (now or before); False off glibc, or with
    ``HYDROINTERP_MALLOC_TUNING=0``.
    """
    if not sys.platform.startswith("linux") or os.environ.get("HYDROINTERP_MALLOC_TUNING") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
        )
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


def _call_with_threads(fn: Callable[..., T], threads: int, args: Any) -> T:
    """Run ``fn(args)`` with torch limited to ``threads`` intra-op threads (inside a worker),
    on the worker's own GPU where there are GPUs (:func:`hydrointerp.device.bind_worker_gpu`),
    with the allocator tuned for repeated large tensors (:func:`tune_allocator`)."""
    tune_allocator()
    bind_worker_gpu()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn(args)
    finally:
        torch.set_num_threads(before)


@dataclass
class TaskRunner:
    """Maps a function over task arguments, serially or on a Dask client.

    Parameters
    ----------
    client
        A ``distributed.Client`` or ``None`` for the serial path.
    threads_per_task
        Torch threads inside each task (1 on a cluster, the machine's cores when serial).
    """

    client: Any = None
    threads_per_task: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))

    @property
    def n_workers(self) -> int:
        """Number of workers the tasks spread over (1 when serial)."""
        if self.client is None:
            return 1
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[[Any], T], items: Sequence[Any], desc: str = "tasks") -> list[T]:
        """``[fn(item) for item in items]``, on the cluster when there is one.

        ``fn`` must be a module-level function (picklable) and each item hold everything the
        task needs, including its seed.
        """
        items = list(items)
        if self.client is None or len(items) <= 1:
            return [
                _call_with_threads(fn, self.threads_per_task, it)
                for it in tqdm(items, desc=desc, unit="task", leave=False)
            ]

        futures = [
            self.client.submit(_call_with_threads, fn, self.threads_per_task, it, pure=False)
            for it in items
        ]
        with tqdm(total=len(futures), desc=f"{desc} (dask)", unit="task", leave=False) as bar:
            for _ in as_completed(futures):
                bar.update()
        return self.client.gather(futures)


@contextmanager
def task_runner(
    workers: int = 1, scheduler: str | None = None, processes: bool = True
) -> Iterator[TaskRunner]:
    """A :class:`TaskRunner` for the requested scale, closed on exit.

    Parameters
    ----------
    workers
        Local worker count; ``<= 1`` (and no ``scheduler``) runs serially.
    scheduler
        Address of a running Dask scheduler; overrides ``workers``.
    processes
        Local workers as processes (default) or threads in this process.
    """
    if scheduler is None and workers <= 1:
        yield TaskRunner()
        return
    if scheduler is not None:
        timeout = dask.config.get("distributed.comm.timeouts.connect")
        try:
            client = Client(scheduler, timeout=timeout)
        except OSError as exc:
            raise ConfigError(
                f"cannot reach Dask scheduler {scheduler!r} within {timeout} (Dask setting"
                f" distributed.comm.timeouts.connect): {exc}"
            ) from None
        try:
            yield TaskRunner(client=client, threads_per_task=1)
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        silence_logs=40,
    )
    client = Client(cluster)
    try:
        yield TaskRunner(client=client, threads_per_task=1)
    finally:
        client.close()
        cluster.close()
