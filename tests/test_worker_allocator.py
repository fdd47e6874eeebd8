"""Tasks on Dask workers reuse freed memory: the nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` would
otherwise map and fault in every array above 128 KiB anew (24 % slower heat-map tasks)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from distributed import Client, LocalCluster

from hydrointerp.scale import TaskRunner

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")

#: 200 arrays of 1 MiB allocated, written and freed: 256 pages each when every one is mapped anew
ROUNDS, BYTES = 200, 2**20
FRESH_PAGES = ROUNDS * BYTES // 4096


def churn_faults(_: object = None) -> int:
    """Minor page faults of allocating, touching and freeing ``ROUNDS`` arrays of ``BYTES``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(ROUNDS):
        a = np.empty(BYTES, dtype=np.uint8)
        a.fill(1)
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@linux_only
def test_tune_allocator_in_a_nanny_environment() -> None:
    """Under the nanny's setting every array faults in anew; after tuning almost none does;
    the opt-out leaves the allocator alone."""
    script = textwrap.dedent(
        """
        import os
        from hydrointerp import scale
        from tests.test_worker_allocator import churn_faults
        os.environ["HYDROINTERP_MALLOC_TUNING"] = "0"
        off = scale.tune_allocator()
        untuned = churn_faults()
        scale.tune_allocator.cache_clear()
        del os.environ["HYDROINTERP_MALLOC_TUNING"]
        on = scale.tune_allocator()
        tuned = churn_faults()
        print(off, untuned, on, tuned, scale.tune_allocator())
        """
    )
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    env.pop("HYDROINTERP_MALLOC_TUNING", None)
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    ).stdout.split()
    off, untuned, on, tuned, again = out
    assert off == "False" and on == "True" and again == "True"
    assert int(untuned) >= 0.9 * FRESH_PAGES  # each array mapped and faulted in anew
    assert int(tuned) < 0.05 * FRESH_PAGES  # reused from the heap


@linux_only
def test_dask_worker_tasks_reuse_memory() -> None:
    """A task run by TaskRunner on a real nanny-started worker process is tuned."""
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    try:
        with Client(cluster) as client:
            env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            assert list(env.values()) == ["65536"]  # what the nanny set
            faults = TaskRunner(client=client, threads_per_task=1).map(churn_faults, [0, 1])
    finally:
        cluster.close()
    assert max(faults) < 0.05 * FRESH_PAGES
