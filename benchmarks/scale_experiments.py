"""Benchmark: an experiment stage of a published-model run on 1 vs 2 workers (1 thread each).

The stage ``experiment.heat_map`` of a ``reproduce-mini`` run restricted to the heat maps of the
10 published bulk models on the mini year (226 stations), with fewer masks than published so that
the script stays short: ``--days`` target days (default all 365), ``--masks`` masks per pass and
two passes (default 25: 50 masks per day instead of 100). The stages before it (the mini year,
the clusters, the imported models, their skill) run once; then the stage runs on a
``LocalCluster`` of 1 single-threaded worker and on one of 2 (this process, which drives the
sweep, also limited to 1 torch thread). The sweep's member x day-block tasks read their inputs
from the run directory; the fresh workers import the experiment code before the clock starts
(in a real run they did so stages earlier). With one worker each pass is a single task, which
the task runner runs in the stage process (as it does for any single task). Printed: both stage
times, their ratio, the tasks, the block size and each worker's peak resident memory (its own
high-water mark); exit 1 unless the two heat maps are bit-identical.

Usage: ``.venv/bin/python benchmarks/scale_experiments.py [--days 365] [--masks 25]
[--models 10] [--workers 2] [--memory-mb 2048] [--quick] [--out DIR]``. ``--quick``: 2 models,
20 days, 2 masks per pass (a check that the script runs, not a measurement).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from distributed import Client, LocalCluster

from hydrointerp.config import load_config
from hydrointerp.experiments.sweep_tasks import DEFAULT_TASK_MEMORY_MB
from hydrointerp.pipeline.study import run_study
from hydrointerp.shared import find_shared

STAGE = "experiment.heat_map"
RESULT = Path("experiments") / "heat_map.nc"


def study(args: argparse.Namespace) -> Any:
    """``reproduce-mini`` with the bulk models' heat maps only."""
    heat = {
        "members": args.models,
        "n_targets": args.days,
        "perturbation": {"iters_one_pass": args.masks, "iters_total": 2 * args.masks},
    }
    return load_config(
        "reproduce-mini",
        {
            "name": "scale-experiments",
            "ensemble": {"mode": "import", "import": {"kind": "bulk"}},
            "experiments": {
                "run": ["heat_map"],
                "ensemble": "bulk",
                "settings": {"heat_map": heat},
                "task_memory_mb": args.memory_mb,
            },
            "fidelity": {"enabled": False},
            "report": {"enabled": False},
        },
    )


def stage_on(workers: int, cfg: Any, prepared: Path, out: Path, shared: Path) -> dict[str, Any]:
    """Run the heat-map stage of a copy of ``prepared`` on ``workers`` single-threaded workers."""
    shutil.copytree(prepared, out)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    try:
        with Client(cluster) as client:  # workers of a real run imported all this long before
            client.run(_warm)
        t0 = time.perf_counter()
        log = run_study(cfg, out=out, shared=shared, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - t0
    finally:
        cluster.close()
    stage = log["stages"][STAGE]
    tasks = stage["info"]["runs"][0]["sweep_tasks"]
    return {"seconds": float(stage["seconds"]), "wall": wall, **tasks}


def _warm() -> None:
    """Import the experiment stack in a fresh worker (its start-up is not the stage's time)."""
    import hydrointerp.experiments.sweep_tasks
    import hydrointerp.pipeline.experiment_stages  # noqa: F401


def identical(a: Path, b: Path) -> bool:
    """True when every variable of the two heat maps holds the same numbers."""
    with xr.open_dataset(a, engine="h5netcdf") as x, xr.open_dataset(b, engine="h5netcdf") as y:
        if sorted(x.variables) != sorted(y.variables):
            return False
        return all(np.array_equal(x[v].values, y[v].values) for v in x.variables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--masks", type=int, default=25)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-mb", type=float, default=DEFAULT_TASK_MEMORY_MB)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.days, args.masks, args.models = 20, 2, 2
    torch.set_num_threads(1)
    shared = find_shared()
    cfg = study(args)
    root = args.out or Path(tempfile.mkdtemp(prefix="scale_experiments_"))
    prepared = root / "prepared"
    t0 = time.perf_counter()
    run_study(cfg, out=prepared, shared=shared, workers=1, until="skill")
    print(
        f"heat maps of {args.models} published bulk models, 226 stations, {args.days} target"
        f" days, 2 passes x {args.masks} masks, budget {args.memory_mb:.0f} MiB per task"
        f" (stages before it: {time.perf_counter() - t0:.1f} s)"
    )
    runs = {}
    for workers in (1, args.workers):
        r = stage_on(workers, cfg, prepared, root / f"workers_{workers}", shared)
        runs[workers] = r
        rss = ", ".join(f"{v:.0f}" for v in r["worker_rss_mb"].values())
        print(
            f"{workers} worker(s) x 1 thread: stage {r['seconds']:.1f} s (its tasks"
            f" {r['task_seconds']:.1f} s); {r['tasks']} tasks in"
            f" {r['rounds']} passes, block {r['block_days']} days x {r['members_per_task']}"
            f" member(s); peak RSS per worker {rss} MiB"
        )
    ratio = runs[1]["seconds"] / runs[args.workers]["seconds"]
    task_ratio = runs[1]["task_seconds"] / runs[args.workers]["task_seconds"]
    same = identical(root / "workers_1" / RESULT, root / f"workers_{args.workers}" / RESULT)
    print(
        f"ratio 1 worker / {args.workers} workers: {ratio:.2f} (the tasks alone: {task_ratio:.2f})"
    )
    print(f"heat maps bit-identical: {same}")
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
