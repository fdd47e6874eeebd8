"""A full disk or a read-only folder: one clear error naming the path, and no partial file.

The faults are simulated: the write raises ``OSError(ENOSPC)`` part-way (as the kernel does when
the disk fills), or the free space reported to :mod:`hydrointerp.atomic` is made small. A
read-only folder is simulated by making the temporary-file creation raise ``EROFS``/``EACCES``:
the tests run as root, and ``chmod`` does not stop root from writing.
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from hydrointerp import atomic
from hydrointerp.errors import WriteError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.saved import save_model


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _fills_disk_after(n_bytes: int):
    def write(path: Path) -> None:
        with open(path, "wb") as fh:
            fh.write(b"x" * n_bytes)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_disk_full_mid_write_keeps_the_old_file(tmp_path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old content\n")
    with pytest.raises(WriteError) as info:
        atomic.atomic_write(target, _fills_disk_after(3_000_000))
    message = str(info.value)
    assert message.startswith(f"cannot write {target}: disk full; wrote 3.0 MB before")
    assert f"expected: at least 4.0 MB free in {tmp_path}; found: " in message
    assert message.endswith("MB free. Free some space and rerun (finished work is kept)")
    assert "\n" not in message
    assert target.read_text() == "old content\n" and _leftovers(tmp_path) == []


def test_disk_full_reported_inside_an_h5py_message(tmp_path) -> None:
    def h5py_like(path: Path) -> None:
        path.write_bytes(b"\x89HDF" + b"\0" * 1000)
        raise OSError(
            "[Errno 28] Can't synchronously write data (file write failed: errno = 28, error"
            " message = 'No space left on device')"
        )

    with pytest.raises(WriteError, match=r"disk full; wrote 0\.0 MB"):
        atomic.atomic_write(tmp_path / "normaliser.nc", h5py_like)
    assert list(tmp_path.iterdir()) == []


def test_netcdf_is_not_started_without_room(tmp_path, monkeypatch) -> None:
    ds = xr.Dataset({"x": (("a",), np.zeros(1_000_000, dtype=np.float64))})  # 8 MB
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 5_000_000)
    calls: list[str] = []
    monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda *a, **k: calls.append("written"))
    target = tmp_path / "normaliser.nc"
    with pytest.raises(WriteError) as info:
        atomic.write_netcdf(ds, target)
    assert str(info.value) == (
        f"cannot write {target}: not enough free space in {tmp_path}; expected: at least"
        " 9.0 MB free; found: 5.0 MB free. Free some space and rerun (finished work is kept)"
    )
    assert calls == [] and list(tmp_path.iterdir()) == []  # HDF5 never started


def test_saved_model_on_a_full_disk(tmp_path, monkeypatch) -> None:
    model = CNNLSTM(Architecture(n_out=2, conv_filters=(4,), conv_kernels=(1,), pool_after=0))

    def partial_save(obj, path):  # noqa: ANN001
        _fills_disk_after(10_000)(Path(path))

    monkeypatch.setattr(torch, "save", partial_save)
    with pytest.raises(WriteError, match=r"cannot write .*m\.pt: disk full; wrote 0\.0 MB"):
        save_model(model, tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_folder(tmp_path, monkeypatch, code) -> None:
    def refuse(*args, **kwargs):  # noqa: ANN002,ANN003,ANN202
        raise OSError(code, "Read-only file system" if code == errno.EROFS else "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "out" / "skill.csv"
    with pytest.raises(WriteError) as info:
        atomic.write_text(target, "a,b\n")
    message = str(info.value)
    assert message.startswith(f"cannot write {target}: the folder is read-only or not writable")
    assert message.endswith(f"expected: a writable folder; found: {target.parent}")
    assert not target.exists()


def test_run_on_a_full_disk_exits_with_one_line(tmp_path, monkeypatch, run_main) -> None:
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 200_000)
    run = tmp_path / "run"
    code, err = run_main(["run", "tiny", "--out", str(run)])
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"error: cannot write {run / 'region.nc'}: not enough free space")
    assert "found: 0.2 MB free" in lines[0]
    assert not (run / "region.nc").exists() and _leftovers(run) == []
