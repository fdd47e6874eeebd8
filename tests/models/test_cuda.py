"""The published models on a CUDA device give the CPU's numbers (skipped without CUDA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hydrointerp.experiments.engine import PerturbationEngine
from hydrointerp.experiments.masks import draw_masks
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.keras_import import load_keras_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(autouse=True)
def _no_tf32():
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


@pytest.fixture(scope="module")
def bulk_pair(models_dir: Path):
    path = models_dir / "model_bulk_0.h5"
    return load_keras_model(path), load_keras_model(path, device="cuda")


def test_mini_year_predictions_on_cuda_equal_cpu(bulk_pair, mini) -> None:
    cpu, gpu = bulk_pair
    frames = np.asarray(mini["weather"].values[:729], dtype=np.float32)
    targets = np.arange(365, 730)
    want = cpu.predict_block(frames, targets)
    got = gpu.predict_block(frames, targets)
    assert got.device.type == "cpu" and got.shape == (365, 226)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5)
    x = torch.as_tensor(frames[None, 0:365])
    with torch.no_grad():
        np.testing.assert_allclose(gpu(x.cuda()).cpu().numpy(), want[:1].numpy(), atol=2e-5)


def test_ensemble_moves_to_cuda(models_dir: Path, mini) -> None:
    frames = np.asarray(mini["weather"].values[:729], dtype=np.float32)
    models = [load_keras_model(models_dir / f"model_bulk_{i}.h5") for i in (0, 1)]
    ens = Ensemble(models, station_ids=[str(s) for s in mini.station.values])
    want = ens.predict_block(frames[None], np.arange(700, 730))
    assert ens.to("cuda").device.type == "cuda"
    got = ens.predict_block(frames[None], np.arange(700, 730))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=2e-5)


def test_perturbation_engine_on_cuda_equals_cpu(bulk_pair, mini) -> None:
    cpu, gpu = bulk_pair
    frames = np.asarray(mini["weather"].values[:729], dtype=np.float32)
    masks = draw_masks(np.random.default_rng(5), 1, 6, (12, 32), pass_size=3)
    targets = np.array([450, 600, 700])
    want = PerturbationEngine(cpu, frames, 365).weighted_response(targets, masks, reduce="member")
    got = PerturbationEngine(gpu, frames, 365).weighted_response(targets, masks, reduce="member")
    assert float(want.abs().max()) > 1e-3
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=2e-5)
