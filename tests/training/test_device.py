"""Training on a CUDA device: the same losses and weights as on the CPU (skipped without CUDA),
and clear errors for devices that cannot be used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from hydrointerp.models.saved import load_model
from hydrointerp.training.config import TrainSettings
from hydrointerp.training.train import train_member

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
SETTINGS = dict(max_epochs=3, learning_rate=1e-3, progress=False, batch_size=32)


def test_device_setting_rejects_unknown_and_unavailable_devices() -> None:
    with pytest.raises(ValidationError, match="not a torch device"):
        TrainSettings(device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValidationError, match="CUDA is not available"):
            TrainSettings(device="cuda")
    assert TrainSettings().device == "cpu"


@needs_cuda
def test_training_on_cuda_matches_cpu(windows, tiny_arch, tmp_path) -> None:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    arch = tiny_arch.model_copy(update={"dropout": 0.0})  # CPU and CUDA draw different masks
    paths = {
        dev: train_member(
            windows, TrainSettings(**SETTINGS, device=dev), 4, tmp_path / dev, arch=arch
        )
        for dev in ("cpu", "cuda")
    }
    logs = {dev: pd.read_csv(tmp_path / dev / "train_log_member_4.csv") for dev in paths}
    np.testing.assert_allclose(logs["cuda"]["train_loss"], logs["cpu"]["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(logs["cuda"]["val_loss"], logs["cpu"]["val_loss"], rtol=1e-4)
    cpu, gpu = (load_model(p).state_dict() for p in (paths["cpu"], paths["cuda"]))
    for k in cpu:  # saved weights come back on the CPU
        np.testing.assert_allclose(gpu[k].numpy(), cpu[k].numpy(), atol=1e-4, err_msg=k)


@needs_cuda
def test_cuda_training_resumes_from_its_checkpoint(windows, tiny_arch, tmp_path) -> None:
    s = TrainSettings(**SETTINGS, device="cuda")

    class Stop(Exception):
        pass

    def stop_after_one(epoch, state):  # noqa: ANN001, ANN202
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_member(windows, s, 2, tmp_path, arch=tiny_arch, on_epoch_end=stop_after_one)
    path = train_member(windows, s, 2, tmp_path, arch=tiny_arch)
    log = pd.read_csv(tmp_path / "train_log_member_2.csv")
    assert list(log["epoch"]) == [1, 2, 3]
    assert load_model(path).device.type == "cpu"
