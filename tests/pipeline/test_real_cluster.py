"""A study on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes started
with the dask CLI on 127.0.0.1, as a user would, give the serial run's numbers (issue 19)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client
from tests_pipeline_helpers import compare_outputs

from hydrointerp.errors import ConfigError
from hydrointerp.pipeline import run_study

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if DASK is None:
        pytest.fail("the dask CLI (installed with distributed) is missing from the environment")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    common = {"env": env, "stderr": subprocess.STDOUT}
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=open(logs / "scheduler.log", "w"),  # noqa: SIM115 (closed with the process)
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [DASK, "worker", address, "--nthreads", "1", "--no-dashboard",
                     "--local-directory", str(logs / f"w{i}")],
                    stdout=open(logs / f"worker{i}.log", "w"),  # noqa: SIM115
                    **common,
                )
            )  # fmt: skip
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_tiny_study_on_a_real_cluster_gives_the_serial_numbers(
    cluster, tiny_run, tiny_config, tmp_path
) -> None:  # noqa: E501
    serial, _ = tiny_run
    out = tmp_path / "cluster"
    log = run_study(tiny_config, out=out, scheduler=cluster)
    assert all(s["status"] == "ran" for s in log["stages"].values())
    files = [
        "predictions.nc",
        "experiments/heat_map.nc",
        "experiments/simulator/heat_map.nc",
        "experiments/controls/random_all/heat_map.nc",
    ]
    compare_outputs(serial, out, files)  # exactly: rtol = atol = 0
    assert (out / "fidelity.csv").read_text() == (serial / "fidelity.csv").read_text()


def test_an_unreachable_scheduler_is_a_clear_error(tiny_config, tmp_path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.monotonic()
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "3s"}),
        pytest.raises(ConfigError, match=f"cannot reach Dask scheduler '{address}' within 3s"),
    ):
        run_study(tiny_config, out=tmp_path / "x", scheduler=address)
    assert 3 <= time.monotonic() - t0 < 20  # retried for the timeout, then stopped


def test_a_worker_killed_mid_run_is_survived(cluster, tiny_run, tiny_config, tmp_path) -> None:
    """SIGKILL one worker while it runs a task: Dask reschedules the task (tasks are idempotent
    and write atomically) and the run finishes with the serial numbers."""
    serial, _ = tiny_run
    out = tmp_path / "killed"
    done: dict = {}

    def run() -> None:
        try:
            done["log"] = run_study(tiny_config, out=out, scheduler=cluster)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            done["error"] = exc

    thread = threading.Thread(target=run)
    killed = None
    with Client(cluster, timeout="60s") as client:
        thread.start()
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                killed = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        thread.join(timeout=300)
    assert killed is not None, "no task was ever seen running"
    assert "error" not in done, done.get("error")
    compare_outputs(serial, out, ["predictions.nc", "experiments/heat_map.nc"])
    assert (out / "fidelity.csv").read_text() == (serial / "fidelity.csv").read_text()
