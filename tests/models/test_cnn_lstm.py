"""CNNLSTM building blocks: forward == encode_days + run_lstm + head; cached == per-window path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.keras_import import load_keras_model


@pytest.fixture(scope="module")
def bulk0(models_dir):
    return load_keras_model(models_dir / "model_bulk_0.h5")


def test_forward_equals_blocks(bulk0, mini_raw):
    x = torch.as_tensor(np.stack([mini_raw["x"][i : i + 365] for i in (0, 100, 364)]))
    with torch.inference_mode():
        y = bulk0(x)
        feats = bulk0.encode_days(x.reshape(-1, 12, 32, 3)).reshape(3, 365, -1)
        h_seq, c_seq = bulk0.run_lstm(feats)
        y_blocks = bulk0.head(h_seq[:, -1])
    assert feats.shape == (3, 365, 32) and h_seq.shape == c_seq.shape == (3, 365, 80)
    torch.testing.assert_close(y_blocks, y, atol=1e-6, rtol=0)
    # cell states are bounded by the gates and differ from the hidden states
    assert torch.all(h_seq.abs() <= 1) and not torch.allclose(h_seq, c_seq)


def test_cached_path_equals_per_window_path(bulk0, mini_raw):
    days = mini_raw["x"]
    targets = np.array([365, 366, 500, 729])
    cached = bulk0.predict_block(days, targets)
    windows = torch.as_tensor(np.stack([days[t - 365 : t] for t in targets]))
    with torch.inference_mode():
        per_window = bulk0.eval()(windows)
    assert cached.shape == (4, 226)
    torch.testing.assert_close(cached, per_window, atol=1e-5, rtol=0)


def test_predict_block_perturbed_copies(bulk0, mini_raw):
    days = torch.as_tensor(mini_raw["x"][:400])
    stack = torch.stack([days, days + 0.5])
    out = bulk0.predict_block(stack, [365, 400])
    torch.testing.assert_close(out[0], bulk0.predict_block(days, [365, 400]), atol=1e-6, rtol=0)
    assert not torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="targets must lie in"):
        bulk0.predict_block(days, [364])


def test_keras_initialisation():
    torch.manual_seed(0)
    model = CNNLSTM(Architecture(n_out=5, lstm_units=8))
    assert torch.all(model.lstm.bias_ih_l0[8:16] == 1) and torch.all(model.lstm.bias_hh_l0 == 0)
    w_hh = model.lstm.weight_hh_l0.detach()  # [4u, u]: columns orthonormal (Keras orthogonal)
    torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(8), atol=1e-5, rtol=0)
    assert sum(p.numel() for p in CNNLSTM().parameters()) - 320 == 75426
