"""Member x day-block tasks of the perturbation sweeps give the serial unblocked numbers exactly,
for every block size and member grouping, with and without the convergence loop."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
import xarray as xr

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.catalog import ChannelImportance, DailyMaps, HeatMap
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.sweep_tasks import TaskPlan, plan_blocks, sweep_engine, task_bytes
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.ensemble import Ensemble

#: 1-day blocks of single members, 3-day blocks of both members, all days at once
PLANS = {
    "1day_1member": TaskPlan(block_days=1, members_per_task=1),
    "3days_2members": TaskPlan(block_days=3, members_per_task=2),
    "all_days": TaskPlan(block_days=1000, members_per_task=2),
}
EXPERIMENTS = {
    "heat_map_shared_tol": HeatMap(
        perturbation=Perturbation(iters_one_pass=3, iters_total=9, tol=0.0, seed=2)
    ),
    "heat_map_per_day": HeatMap(
        perturbation=Perturbation(iters_one_pass=2, iters_total=4, mask_mode="per_day", seed=5)
    ),
    "daily_per_day_tol": DailyMaps(
        perturbation=Perturbation(iters_one_pass=2, iters_total=12, tol=0.3, mask_mode="per_day"),
        pattern_rule="flow_threshold",
        gifs=False,
    ),
    "heat_map_saliency": HeatMap(method="saliency"),
    "daily_smoothgrad": DailyMaps(
        method="smoothgrad",
        attribution={"n_samples": 1},
        pattern_rule="flow_threshold",
        gifs=False,
    ),
    "channels_shared": ChannelImportance(
        perturbation=Perturbation(iters_one_pass=2, iters_total=4, seed=1)
    ),
}


@pytest.fixture(scope="module")
def inputs(sim_inputs):  # noqa: ANN001, ANN201
    """The virtual region's inputs (60-day look-back), 8 target days, with a fine-tuned-like
    ensemble of small random CNN-LSTMs: 2 members, each routed per station cluster."""
    torch.manual_seed(0)
    ids = [str(x) for x in sim_inputs.stations["station"].values]
    groups = {}
    for label, mine in enumerate((ids[:2], ids[2:])):  # two station groups, like two clusters
        arch = Architecture(
            n_out=len(mine), conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0, lstm_units=6
        )
        groups[label] = ([CNNLSTM(arch).eval() for _ in range(2)], mine)
    ens = Ensemble.routed(groups, ids, lookback=sim_inputs.lookback)
    return replace(sim_inputs, predictor=ens).first_targets(8)


def _identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.variables) == sorted(b.variables)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        if x.dtype.kind in "fc":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_split_gives_the_serial_numbers(inputs, name) -> None:  # noqa: ANN001
    exp = EXPERIMENTS[name]
    serial = exp(inputs)
    for label, plan in PLANS.items():
        plan = replace(plan, log=[])
        got = exp(replace(inputs, tasks=plan))
        _identical(serial, got)
        assert plan.log, label
        n_days = len(inputs.target_times)
        groups = 1 if exp.method != "perturbation" else 2 // plan.members_per_task
        want_tasks = -(-n_days // min(plan.block_days, n_days)) * groups
        assert plan.log[0]["tasks"] == want_tasks, label
    if name == "daily_per_day_tol":  # the per-day convergence stopped days at different passes
        assert len(set(serial["masks_used"].values.tolist())) > 1


def test_block_size_follows_the_memory_budget(inputs) -> None:  # noqa: ANN001
    eng = sweep_engine(inputs)
    s = Perturbation(iters_one_pass=50, iters_total=100)
    one, two = task_bytes(100, 1, eng, s), task_bytes(200, 1, eng, s)
    assert two > one > task_bytes(100, 1, eng, s.model_copy(update={"iters_one_pass": 10}))
    assert task_bytes(100, 2, eng, s) > one
    roomy = plan_blocks(TaskPlan(memory_mb=1e6), eng, s, 365)
    assert roomy == (365, 2)
    tight_mb = task_bytes(40, 2, eng, s) / 2**20
    days, members = plan_blocks(TaskPlan(memory_mb=tight_mb), eng, s, 365)
    assert members == 2 and 23 <= days <= 40
    assert task_bytes(days, members, eng, s) <= tight_mb * 2**20
    # two workers: one member per task before any day block is cut
    assert plan_blocks(TaskPlan(memory_mb=1e6, min_tasks=2), eng, s, 365) == (365, 1)
    assert plan_blocks(TaskPlan(memory_mb=1e6, min_tasks=6), eng, s, 365) == (122, 1)
    with pytest.raises(ConfigError, match="task_memory_mb"):
        plan_blocks(TaskPlan(memory_mb=10), eng, s, 365)


def test_the_simulator_is_one_task_whatever_the_budget(sim_inputs) -> None:  # noqa: ANN001
    """Its memory does not shrink with the block (the whole record per copy): a budget below
    one day's estimate is no error (the demo's 12-year region needs ~2.3 GB by the estimate)."""
    eng = sweep_engine(sim_inputs)
    s = Perturbation(iters_one_pass=50, iters_total=100)
    assert plan_blocks(TaskPlan(memory_mb=1, min_tasks=2), eng, s, 27) == (27, eng.n_members)


def test_published_members_in_one_day_blocks_give_the_serial_heat_map(shared) -> None:  # noqa: ANN001
    """The same on the published models (226 stations, 365-day look-back, LSTM 80)."""
    from hydrointerp.cli.resolve import resolve_inputs

    published = resolve_inputs(None, shared, ensemble="bulk", n_members=2).every_nth_target(300)
    exp = HeatMap(perturbation=Perturbation(iters_one_pass=2, iters_total=2))
    serial = exp(published)
    _identical(serial, exp(replace(published, tasks=TaskPlan(block_days=1, members_per_task=1))))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_peak_memory_is_the_process_own() -> None:
    """A process started by a large one reports its own peak, not its parent's (which
    ``ru_maxrss`` carries over), and the peak grows with what it allocates."""
    held = np.ones(768 * 2**20, dtype=np.uint8)  # the parent holds 768 MiB
    script = (
        "import resource, numpy as np\n"
        "from hydrointerp.experiments.sweep_tasks import peak_rss_mb\n"
        "before = peak_rss_mb()\n"
        "a = np.ones(256 * 2**20, dtype=np.uint8)\n"
        "print(before, peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, after, inherited = (float(v) for v in out.stdout.split())
    assert held.sum() == held.size
    assert inherited >= 768  # getrusage: the parent's peak
    assert before < 700  # its own: Python, torch and numpy only
    assert after - before >= 250  # the 256 MiB it allocated
