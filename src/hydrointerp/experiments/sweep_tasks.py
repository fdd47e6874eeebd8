"""Member x day-block tasks of the perturbation sweeps, merged into the serial numbers bit for bit.

A perturbation sweep (the heat map's :func:`~hydrointerp.experiments.heat_map.make_heat`, the
per-day :func:`~hydrointerp.experiments.daily_sweep.make_daily_heat` of Experiments 1, 2 and the
``perturbation`` attribution method) spends its time evaluating the network on perturbed inputs.
That part is split here: one pass of masks over the days still open is cut into tasks of
(a group of ensemble members x a block of target days); each task returns the raw responses
``|y0 - y_i|`` of its days, members and masks (:meth:`PerturbationEngine.day_responses
<hydrointerp.experiments.engine.PerturbationEngine.day_responses>`), and the sweep (the driver)
puts them back in place and does everything else: the mask weighting, the member mean, the time
sum, the convergence rule.

Why the result does not depend on the split: a day's masks come from its own stream
(:func:`~hydrointerp.experiments.perturbation.pass_masks`), a day's responses do not depend on
the other days or members evaluated with it (the engine's row-invariant fast path), and every
reduction runs on the reassembled whole array in one fixed order (:func:`~hydrointerp.
experiments.engine.weigh`). So any block size, any member grouping and any number of Dask
workers give the numbers of the serial unblocked run exactly
(``tests/experiments/test_sweep_tasks.py``).

The block size comes from a per-task memory budget (:data:`DEFAULT_TASK_MEMORY_MB`, the run
config's ``experiments.task_memory_mb``) through :func:`task_bytes`, an estimate of a task's
peak memory from the grid, stations, channels, look-back, masks per pass and members. In a
pipeline run a task reads its inputs from the run directory (:class:`TaskPlan.source`, e.g.
:class:`hydrointerp.pipeline.experiment_stages.VariantSource`), never from the task graph; the
worker keeps the last inputs it built, so the passes of one sweep load them once per worker.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.engine import PerturbationEngine
from hydrointerp.experiments.masks import MaskSet
from hydrointerp.experiments.perturbation import Perturbation, day_keys, pass_masks

#: per-task memory budget (MiB) when none is set: the peak resident memory of one worker process
#: running one task, the Python/torch process itself included
DEFAULT_TASK_MEMORY_MB = 2048.0
#: fixed part of a task's peak: the worker process (an idle Dask worker with Python, torch,
#: numpy, xarray and hydrointerp imported is 280 MiB on Linux x86-64, torch 2.13 CPU) plus the
#: models' loading and the libraries' first-use buffers the other terms do not count; set so the
#: estimate bounds the peaks ``benchmarks/task_memory.py`` measures (docs/scaling.md)
PROCESS_MB = 550.0

MapFn = Callable[[Callable[[Any], Any], Sequence[Any]], list]


def serial_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list:
    """``[fn(item) for item in items]`` (the in-process task runner)."""
    return [fn(item) for item in items]


class InputsSource(Protocol):
    """How a worker builds the inputs of a sweep itself (from the run directory).

    ``key`` names the inputs (the worker keeps the last ones built); ``load()`` returns the
    :class:`~hydrointerp.experiments.inputs.ExperimentInputs` the sweep runs on.
    """

    key: str

    def load(self) -> Any: ...


@dataclass(frozen=True)
class TaskPlan:
    """How the sweeps of one experiment run split into tasks.

    Attributes
    ----------
    map
        Runs a module-level function over task arguments (``TaskRunner.map`` of a Dask cluster;
        default: in this process).
    source
        Picklable :class:`InputsSource` the tasks build their inputs from; None: the tasks use
        the driver's own engine (in-process only).
    memory_mb
        Per-task memory budget (MiB) that sets the block size (:func:`plan_blocks`).
    block_days, members_per_task
        Fixed block size and member group (tests, benchmarks); None: from the budget.
    min_tasks
        Tasks per pass to aim for (the number of workers): blocks that fit the budget are cut
        further, members first (as few member groups as needed), then days, until there are this
        many.
    """

    map: MapFn = serial_map
    source: InputsSource | None = None
    memory_mb: float = DEFAULT_TASK_MEMORY_MB
    block_days: int | None = None
    members_per_task: int | None = None
    min_tasks: int = 1
    #: filled by the sweeps: one record per round (tasks, block size, peak memory per task)
    log: list[dict[str, Any]] = field(default_factory=list, compare=False)


@dataclass(frozen=True)
class BlockJob:
    """One task: the responses of some target days and members to one pass of masks."""

    source: InputsSource | None
    settings: Perturbation
    pass_index: int
    targets: tuple[int, ...]  # frame indices of the block's target days
    members: tuple[int, int]  # [lo, hi) ensemble members


# ------------------------------------------------------------------------- memory
def task_bytes(
    n_days: int,
    n_members: int,
    engine: PerturbationEngine,
    settings: Perturbation,
) -> float:
    """Estimated peak memory (bytes) of one task: ``n_days`` target days x ``n_members``
    members of one pass of ``settings`` on ``engine``'s inputs, the worker process included.

    Counted: the input frames (held twice: labelled and as an array), the network weights, the
    perturbed copies of a mask chunk over the block's days and look-back (input days, CNN
    features, LSTM input projections), and the responses ``[days, members, masks, stations]``
    (the engine's, their copy to return, and the baseline).
    """
    d_all, h, w, c = engine.frames.shape
    s, lookback, chunk = engine.n_stations, engine.lookback, engine.mask_chunk
    m = settings.iters_one_pass
    models = engine._models()
    features = max((n.n_features + 4 * n.arch.lstm_units for n, _, _ in models), default=0)
    params = sum(sum(p.numel() for p in n.parameters()) for n, _, _ in models)
    shared = settings.mask_mode == "shared"
    span = n_days + lookback if (shared and models) else (d_all if shared else lookback)
    per_copy_day = h * w * c * 4 * 2 + features * 4
    engine_bytes = chunk * span * per_copy_day
    if not models:  # the simulator: its whole state per copy and day
        engine_bytes *= 4
    responses = 3 * n_days * n_members * m * s * 4 + n_days * n_members * s * 4
    return (
        PROCESS_MB * 2**20
        + 2 * d_all * h * w * c * 4
        + params * 4 * max(1, n_members)
        + engine_bytes
        + responses
    )


def plan_blocks(
    plan: TaskPlan, engine: PerturbationEngine, settings: Perturbation, n_days: int
) -> tuple[int, int]:
    """``(block_days, members_per_task)`` for ``n_days`` open days.

    The plan's fixed sizes where given; else the largest blocks of all members that fit the
    budget (members are split only when even ``min(n_days, 32)`` days of all of them would not
    fit), then cut further until there are ``plan.min_tasks`` tasks: members first (as few
    member groups as that needs: each task builds the record's perturbed copies once for its
    members), then days (each block re-encodes its look-back window).
    """
    n_members = engine.n_members
    members = min(plan.members_per_task or n_members, n_members)
    if plan.block_days is not None:
        return max(1, min(plan.block_days, n_days)), members
    if not engine._models():
        # the simulator runs the whole record for every perturbed copy: its memory does not
        # shrink with the block, so the budget cannot size it; one task of all days (it is
        # cheap next to the networks' sweeps)
        return n_days, members
    budget = plan.memory_mb * 2**20
    if plan.members_per_task is None:
        while members > 1 and task_bytes(min(n_days, 32), members, engine, settings) > budget:
            members = -(-members // 2)
    days = n_days
    while days > 1 and task_bytes(days, members, engine, settings) > budget:
        days = -(-days // 2)
    if task_bytes(days, members, engine, settings) > budget:
        need = task_bytes(days, members, engine, settings) / 2**20
        raise ConfigError(
            f"experiments.task_memory_mb={plan.memory_mb:g} is too small: one target day of one"
            f" member needs about {need:.0f} MiB"
        )

    groups = -(-n_members // members)
    if -(-n_days // days) * groups < plan.min_tasks and plan.members_per_task is None:
        # as few member groups as feed the workers: each task builds its perturbed copies of
        # the record once for all its members
        members = max(1, -(-n_members // plan.min_tasks))
        groups = -(-n_members // members)
    blocks = -(-plan.min_tasks // groups)
    return min(days, -(-n_days // blocks)), members


# ------------------------------------------------------------------------- tasks
_CACHE: dict[str, dict[str, Any]] = {}


def inputs_of(source: InputsSource) -> Any:
    """``source``'s inputs, built once per worker process (the last source's kept)."""
    if source.key not in _CACHE:
        _CACHE.clear()
        _CACHE[source.key] = {"inputs": source.load()}
    return _CACHE[source.key]["inputs"]


def _engine_of(source: InputsSource) -> PerturbationEngine:
    """The engine over ``source``'s inputs, built once per worker process."""
    inputs = inputs_of(source)
    entry = _CACHE[source.key]
    if "engine" not in entry:
        entry["engine"] = sweep_engine(inputs)
    return entry["engine"]


def sweep_engine(inputs: Any, reference: bool = False) -> PerturbationEngine:
    """The perturbation engine of a sweep over ``inputs`` (an ExperimentInputs)."""
    return PerturbationEngine(
        inputs.predictor,
        inputs.frames_array(),
        inputs.lookback,
        start=pd.Timestamp(inputs.frames["time"].values[0]),
        reference=reference,
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB).

    On Linux the high-water mark of the process's own memory (``VmHWM`` of
    ``/proc/self/status``): ``getrusage``'s ``ru_maxrss`` carries over the peak of the process
    that started this one (across ``fork`` and ``exec``), so a Dask worker started by a
    ``LocalCluster`` in a 1 GiB driver would report the driver's peak as its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def block_responses(job: BlockJob, engine: PerturbationEngine | None = None) -> dict[str, Any]:
    """Run one task: ``{"dy": [days, members, masks, stations] float32, "rss_mb": the
    process's peak memory (MiB), "worker": its host and process id}``.

    ``engine``: the driver's own (in-process tasks); else built from ``job.source``.
    """
    if engine is None:
        if job.source is None:
            raise ConfigError("a task without an inputs source needs the driver's engine")
        engine = _engine_of(job.source)
    sub = engine.for_members(*job.members)
    targets = np.asarray(job.targets, dtype=np.int64)
    keys = day_keys(engine.start, targets)
    shape = tuple(engine.frames.shape[1:3])
    masks = pass_masks(job.settings, job.pass_index, keys, shape)
    dy = sub.day_responses(targets, masks, job.settings.channels)
    return {"dy": dy.numpy(), **task_record()}


def task_record() -> dict[str, Any]:
    """What every task reports besides its numbers: its process's peak memory and who it is."""
    return {"rss_mb": peak_rss_mb(), "worker": f"{socket.gethostname()}:{os.getpid()}"}


@dataclass(frozen=True)
class _Local:
    """In-process task function bound to the driver's engine (picklable is not needed)."""

    engine: PerturbationEngine

    def __call__(self, job: BlockJob) -> dict[str, Any]:
        return block_responses(job, self.engine)


def per_worker(results: list[dict[str, Any]]) -> dict[str, float]:
    """Peak memory (MiB) of each worker process that ran some of ``results``."""
    out: dict[str, float] = {}
    for r in results:
        out[r["worker"]] = max(out.get(r["worker"], 0.0), float(r["rss_mb"]))
    return out


# ------------------------------------------------------------------------- driver
class SweepResponses:
    """The driver's side of a sweep: the responses of chosen days to one pass, computed in
    member x day-block tasks and put back in place.

    Parameters
    ----------
    engine
        The driver's engine over the sweep's inputs (its shape, members, dates; in-process
        tasks use it directly).
    targets
        The sweep's target days (frame indices).
    plan
        How to split (None: one in-process task per pass).
    """

    def __init__(
        self, engine: PerturbationEngine, targets: np.ndarray, plan: TaskPlan | None = None
    ) -> None:
        self.engine = engine
        self.targets = np.asarray(targets, dtype=np.int64)
        self.plan = plan if plan is not None else TaskPlan(block_days=len(self.targets) or 1)
        self.keys = day_keys(getattr(engine, "start", None), self.targets)
        self.shape = tuple(engine.frames.shape[1:3])

    def masks(self, settings: Perturbation, pass_index: int, days: np.ndarray) -> MaskSet:
        """The masks of pass ``pass_index`` for the sweep's days at positions ``days``."""
        return pass_masks(settings, pass_index, self.keys[days], self.shape)

    def __call__(self, settings: Perturbation, pass_index: int, days: np.ndarray) -> torch.Tensor:
        """``[len(days), R, M, S]`` responses of the days at positions ``days`` to the pass."""
        days = np.asarray(days, dtype=np.int64)
        n_members = self.engine.n_members
        out = torch.zeros(len(days), n_members, settings.iters_one_pass, self.engine.n_stations)
        if not len(days):
            return out
        block, group = plan_blocks(self.plan, self.engine, settings, len(days))
        source = self.plan.source
        jobs, where = [], []
        for a in range(0, len(days), block):
            chosen = tuple(int(t) for t in self.targets[days[a : a + block]])
            for lo in range(0, n_members, group):
                hi = min(n_members, lo + group)
                jobs.append(BlockJob(source, settings, pass_index, chosen, (lo, hi)))
                where.append((slice(a, a + len(chosen)), slice(lo, hi)))
        began = time.perf_counter()
        if source is None:  # the driver's own engine: in this process
            results = serial_map(_Local(self.engine), jobs)
        else:
            results = self.plan.map(block_responses, jobs)
        seconds = time.perf_counter() - began
        for (rows, members), res in zip(where, results, strict=True):
            out[rows, members] = torch.from_numpy(np.asarray(res["dy"]))
        self.plan.log.append(
            {
                "pass": pass_index,
                "seconds": seconds,
                "days": len(days),
                "tasks": len(jobs),
                "block_days": block,
                "members_per_task": group,
                "peak_rss_mb": max(float(r["rss_mb"]) for r in results),
                "worker_rss_mb": per_worker(results),
                "budget_mb": None if self.plan.block_days else self.plan.memory_mb,
            }
        )
        return out
