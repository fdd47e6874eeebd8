"""Benchmark: peak memory of one heat-map task against the per-task budget that sized it.

A published model (``--members`` bulk models, 226 stations) on the 365 target days of the mini
year, shared masks, ``--masks`` masks in one pass (memory, not convergence: the default is 2).
The block of target days comes from the budget (``--memory-mb``, default the run config's
``experiments.task_memory_mb`` default) through the estimate of
:func:`hydrointerp.experiments.sweep_tasks.task_bytes`; the first block then runs as a task in a
fresh single-threaded Dask worker process that builds its inputs itself (the published files),
and the worker's peak resident memory (``getrusage``) is printed against the estimate and the
budget. The task's responses are compared with the same block computed in this process (exit 1
if they differ, or if the peak exceeds the budget).

Usage: ``.venv/bin/python benchmarks/task_memory.py [--memory-mb 2048] [--members 1]
[--masks 2] [--days 365]``
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
from distributed import Client, LocalCluster

from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.sweep_tasks import (
    DEFAULT_TASK_MEMORY_MB,
    BlockJob,
    TaskPlan,
    block_responses,
    peak_rss_mb,
    plan_blocks,
    sweep_engine,
    task_bytes,
)
from hydrointerp.shared import find_shared


@dataclass(frozen=True)
class PublishedSource:
    """The published bulk models' inputs on the mini year, built by the worker itself."""

    shared: str
    members: int

    @property
    def key(self) -> str:
        return f"published|{self.shared}|bulk|{self.members}"

    def load(self):  # noqa: ANN201
        from hydrointerp.cli.resolve import resolve_inputs

        return resolve_inputs(None, self.shared, ensemble="bulk", n_members=self.members)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=float, default=DEFAULT_TASK_MEMORY_MB)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--masks", type=int, default=2)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    source = PublishedSource(str(find_shared()), args.members)
    inputs = source.load()
    inputs = inputs.first_targets(args.days)
    engine = sweep_engine(inputs)
    settings = Perturbation(iters_one_pass=args.masks, iters_total=args.masks)
    targets = inputs.target_indices()
    block, members = plan_blocks(TaskPlan(memory_mb=args.memory_mb), engine, settings, len(targets))
    job = BlockJob(source, settings, 0, tuple(int(t) for t in targets[:block]), (0, members))
    estimate = task_bytes(block, members, engine, settings) / 2**20
    print(
        f"published bulk x {args.members}: {engine.n_stations} stations, {len(targets)} target"
        f" days, grid {tuple(engine.frames.shape[1:3])}, look-back {engine.lookback},"
        f" {args.masks} masks per pass"
    )
    print(f"budget {args.memory_mb:.0f} MiB -> block of {block} days x {members} member(s)")
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    try:
        with Client(cluster) as client:
            idle = client.submit(peak_rss_mb, pure=False).result()
            got = client.submit(block_responses, job, pure=False).result()
    finally:
        cluster.close()
    want = block_responses(job, engine)["dy"]
    same = np.array_equal(np.asarray(got["dy"]), want)
    peak = float(got["rss_mb"])
    print(f"worker peak RSS before the task: {idle:.0f} MiB")
    print(f"worker peak RSS with the task:   {peak:.0f} MiB")
    print(
        f"estimate {estimate:.0f} MiB; budget {args.memory_mb:.0f} MiB;"
        f" peak/budget {peak / args.memory_mb:.2f}"
    )
    print(f"task responses equal the in-process block: {same}")
    return 0 if same and peak <= args.memory_mb else 1


if __name__ == "__main__":
    sys.exit(main())
