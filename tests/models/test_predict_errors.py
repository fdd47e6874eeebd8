"""``predict`` options that used to end in a traceback: bad dates and an unusable device."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture()
def predict_args(shared_data, models_dir, tmp_path):
    mini = str(shared_data / "cnn_lstm_era" / "mini")
    models = str(models_dir / "model_bulk_0.h5")
    return ["predict", "--models", models, "--data", mini, "--out", str(tmp_path / "p.nc")]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_unparsable_start(predict_args, run_main, tmp_path) -> None:
    code, err = run_main([*predict_args, "--start", "June 31st"])
    assert code == 2
    assert _one_line(err) == (
        "error: --start is not a date; expected: YYYY-MM-DD; found: 'June 31st'"
    )
    assert list(tmp_path.iterdir()) == []


def test_start_outside_the_data(predict_args, run_main, tmp_path) -> None:
    code, err = run_main([*predict_args, "--start", "2030-01-01"])
    assert code == 2
    line = _one_line(err)
    assert line.startswith(
        "error: --start 2030-01-01 is outside the days this data can predict (a full 365-day"
        " look-back is needed); expected: "
    )
    assert line.endswith("; found: 2030-01-01") and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_device_without_cuda(predict_args, run_main, tmp_path) -> None:
    code, err = run_main([*predict_args, "--device", "cuda"])
    assert code == 2
    assert _one_line(err) == (
        "error: --device: device 'cuda': CUDA is not available on this machine; expected: cpu"
        " or an available GPU"
    )
    assert list(tmp_path.iterdir()) == []
