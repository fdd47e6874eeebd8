"""With ``device: cuda`` each Dask worker uses its own GPU (checked without a GPU: torch.cuda is
replaced by a fake with four devices)."""

from __future__ import annotations

import threading

import pytest
import torch

from hydrointerp import device
from hydrointerp.device import bind_worker_gpu, worker_gpu
from hydrointerp.scale import task_runner


def test_worker_gpu_rule() -> None:
    assert worker_gpu({"CUDA_VISIBLE_DEVICES": "3"}, 1, worker_name=7) == 0  # its visible set
    assert worker_gpu({}, 4, worker_name=5) == 1  # LocalCluster worker 5 of 4 GPUs
    assert worker_gpu({}, 4, worker_name="tcp://10.0.0.2:4000") == 0  # not numbered
    assert worker_gpu({}, 4) == 0  # not in a worker
    assert worker_gpu({}, 0, worker_name=1) is None  # no GPU
    assert worker_gpu({"CUDA_VISIBLE_DEVICES": " "}, 2, worker_name=1) == 1  # empty: unset


#: the fake ``torch.cuda.set_device``'s record: thread id -> device index
BOUND: dict[int, int] = {}


@pytest.fixture
def four_gpus(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """A fake torch.cuda with four devices; records each thread's ``set_device``."""
    chosen = BOUND
    chosen.clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(
        torch.cuda, "set_device", lambda i: chosen.__setitem__(threading.get_ident(), int(i))
    )
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return chosen


def test_bind_honours_cuda_visible_devices(four_gpus, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(device, "_dask_worker_name", lambda: 2)
    assert bind_worker_gpu() == 2 and four_gpus[threading.get_ident()] == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    assert bind_worker_gpu() == 0 and four_gpus[threading.get_ident()] == 0


def _bound(_: int) -> int:
    """Run inside a task: the GPU index this task's thread was bound to."""
    return BOUND[threading.get_ident()]


def test_each_local_worker_binds_its_own_gpu(four_gpus) -> None:  # noqa: ANN001, ARG001
    seen: set[int] = set()
    with task_runner(workers=2, processes=False) as runner:
        for _ in range(5):  # until both workers ran a task
            seen |= set(runner.map(_bound, list(range(8))))
            if len(seen) == 2:
                break
    assert seen == {0, 1}  # LocalCluster worker 0 -> GPU 0, worker 1 -> GPU 1
