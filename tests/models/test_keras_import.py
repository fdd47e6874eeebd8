"""Keras HDF5 import against the published files and an independent NumPy forward pass."""

from __future__ import annotations

import json
import re
import shutil

import h5py
import numpy as np
import pytest
import torch

from hydrointerp.errors import ModelFormatError
from hydrointerp.models.keras_import import load_keras_model

PUBLISHED_SIZES = {0: 52, 1: 62, 2: 34, 3: 12, 4: 39, 5: 27}


def test_all_published_models_import(models_dir):
    bulk = sorted(models_dir.glob("model_bulk_*.h5"))
    fine = sorted(models_dir.glob("model_fine_*_cluster_*.h5"))
    assert len(bulk) == 10 and len(fine) == 60
    for path in bulk:
        model = load_keras_model(path)
        assert model.arch.n_out == 226
        assert sum(p.numel() for p in model.parameters()) - model.lstm.bias_hh_l0.numel() == 75426
        assert model.provenance["keras_version"] == "2.4.0"
        assert len(model.provenance["sha256"]) == 64
    for path in fine:
        k = int(path.stem.rsplit("_", 1)[1])
        model = load_keras_model(path)
        assert model.arch.n_out == PUBLISHED_SIZES[k]
        assert torch.all(model.lstm.bias_hh_l0 == 0)


def test_torch_matches_numpy_forward(models_dir, mini_raw, ref):
    path = models_dir / "model_fine_2_cluster_3.h5"
    model = load_keras_model(path)
    days = mini_raw["x"][:400]
    targets = np.array([365, 380, 399, 400])
    expected = ref.predict(ref.read(path), days, targets)
    got = model.predict_block(days, targets).numpy()
    assert got.shape == (4, 12)
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=0)
    # the per-window forward, channels last [B, T, H, W, C], agrees too
    windows = torch.as_tensor(np.stack([days[t - 365 : t] for t in targets[:2]]))
    with torch.inference_mode():
        np.testing.assert_allclose(model.eval()(windows).numpy(), expected[:2], atol=2e-5)


def _copy(models_dir, tmp_path, name="model_bulk_3.h5"):
    dst = tmp_path / name
    shutil.copy(models_dir / name, dst)
    dst.chmod(0o644)
    return dst


def _edit_config(path, edit):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config["config"]["layers"])
        f.attrs["model_config"] = json.dumps(config)


def test_different_layer_stack_is_refused(models_dir, tmp_path):
    path = _copy(models_dir, tmp_path)

    def swap_pools(layers):
        # global max-pool replaced by average pooling: not representable
        layers[7]["config"]["layer"]["class_name"] = "GlobalAveragePooling2D"

    _edit_config(path, swap_pools)
    with pytest.raises(
        ModelFormatError, match=r"layer 'time_distributed_\d+'.*GlobalAveragePooling2D"
    ):
        load_keras_model(path)


def test_non_relu_conv_is_refused(models_dir, tmp_path):
    path = _copy(models_dir, tmp_path)

    def tanh(layers):
        layers[2]["config"]["layer"]["config"]["activation"] = "tanh"

    _edit_config(path, tanh)
    with pytest.raises(
        ModelFormatError,
        match=r"layer 'time_distributed_\d+'.*activation='relu'.*activation='tanh'",
    ):
        load_keras_model(path)


def _weight_path(f, pattern):
    found = []
    f["model_weights"].visit(lambda n: found.append(n) if re.search(pattern, n) else None)
    assert len(found) == 1, found
    return "model_weights/" + found[0]


def test_missing_weight_is_refused(models_dir, tmp_path):
    path = _copy(models_dir, tmp_path)
    with h5py.File(path, "r+") as f:
        del f[_weight_path(f, "recurrent_kernel:0")]
    with pytest.raises(ModelFormatError, match=r"model_bulk_3.h5.*recurrent_kernel"):
        load_keras_model(path)


def test_misshaped_weight_is_refused(models_dir, tmp_path):
    path = _copy(models_dir, tmp_path)
    with h5py.File(path, "r+") as f:
        name = _weight_path(f, r"/dense(_\d+)?/bias:0$")
        del f[name]
        f[name] = np.zeros(225, np.float32)
    with pytest.raises(
        ModelFormatError, match=r"'bias' of layer 'dense.*\(225,\); expected \(226,\)"
    ):
        load_keras_model(path)


def test_not_a_keras_file(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ModelFormatError, match="model_config"):
        load_keras_model(path)
