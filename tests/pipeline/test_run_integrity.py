"""Run-directory safety: one run at a time (an OS lock), and stages that notice changed files.

The lock test starts real ``hydrointerp run`` processes on one run directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hydrointerp.config import load_config
from hydrointerp.pipeline.lock import RunDirectoryLocked, run_lock
from hydrointerp.pipeline.runner import RunContext, Stage, run_stages

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", "from hydrointerp.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_holder(lock: Path, proc: subprocess.Popen, timeout: float = 120.0) -> dict:
    pid = proc.pid
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the first run ended early: {proc.communicate()}")
        if lock.is_file() and lock.read_text():
            info = json.loads(lock.read_text())
            if info.get("pid") == pid:
                return info
        time.sleep(0.1)
    raise AssertionError(f"{lock} never named PID {pid}")


def test_second_run_on_a_locked_directory_is_refused(tmp_path) -> None:
    run = tmp_path / "run"
    first = _cli("run", "tiny", "--out", str(run))
    try:
        holder = _wait_for_holder(run / ".lock", first)
        second = _cli("run", "tiny", "--out", str(run))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1
        assert lines[0] == (
            f"error: run directory {run} is in use by another hydrointerp run"
            f" (PID {first.pid} on {holder['host']}, started {holder['started']});"
            " expected: no other run in it; wait for that run to finish, stop it, or choose"
            " another --out"
        )
        assert first.poll() is None  # the holder was not disturbed
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    # the lock died with its process: no stale lock after kill -9
    with run_lock(run):
        assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()


def test_lock_in_one_process_refuses_a_second_holder(tmp_path) -> None:
    code = "import sys,time; from hydrointerp.pipeline.lock import run_lock\n"
    code += "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
    env = {**os.environ, "PYTHONPATH": SRC}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirectoryLocked, match=f"PID {holder.pid} on "), run_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------ content in fingerprints
def _stages(log: list[str]) -> list[Stage]:
    def write_a(ctx: RunContext) -> None:
        log.append("a")
        (ctx.path("a.txt")).write_text(os.environ.get("TEST_A_CONTENT", "alpha\n") * 1000)

    def write_b(ctx: RunContext) -> None:
        log.append("b")
        (ctx.path("b.txt")).write_text(ctx.path("a.txt").read_text().upper())

    return [
        Stage("a", write_a, lambda ctx: [ctx.path("a.txt")]),
        Stage("b", write_b, lambda ctx: [ctx.path("b.txt")], upstream=("a",)),
    ]


class _Tasks:
    n_workers = 1


def _run(tmp_path: Path) -> list[str]:
    log: list[str] = []
    ctx = RunContext(load_config("tiny"), tmp_path / "run", None, _Tasks())
    run_stages(ctx, _stages(log), echo=lambda _: None)
    return log


def test_truncated_or_replaced_artefact_is_not_up_to_date(tmp_path, monkeypatch) -> None:
    assert _run(tmp_path) == ["a", "b"]
    assert _run(tmp_path) == []  # all up to date
    a = tmp_path / "run" / "a.txt"
    os.utime(a, ns=(0, 10**18))  # touched (or copied without -p): same bytes, still up to date
    assert _run(tmp_path) == []
    with open(a, "r+b") as fh:
        fh.truncate(100)
    assert _run(tmp_path) == ["a"]  # rewritten with the same content: b stays valid
    assert a.read_text() == "alpha\n" * 1000
    a.write_text("someone else's region\n")  # replaced behind the runner's back
    assert _run(tmp_path) == ["a"]
    same_size = "ALPHA\n" * 1000  # replaced by other bytes of the same size, mtime kept
    st = a.stat()
    a.write_text(same_size)
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert _run(tmp_path) == ["a"]
    monkeypatch.setenv("TEST_A_CONTENT", "beta\n")
    (tmp_path / "run" / "a.txt").unlink()
    assert _run(tmp_path) == ["a", "b"]  # new upstream content: b reads it again
    assert (tmp_path / "run" / "b.txt").read_text() == "BETA\n" * 1000
    state = json.loads((tmp_path / "run" / ".stages" / "b.json").read_text())
    size, _, digest = json.loads((tmp_path / "run" / ".stages" / "a.json").read_text())["outputs"][
        "a.txt"
    ]
    assert size == 5000 and state["inputs"] == {"a.txt": digest}
