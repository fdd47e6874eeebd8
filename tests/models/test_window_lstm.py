"""The window LSTM (cached day projections, sigmoid-only cell) equals torch.nn.LSTM."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hydrointerp.models.window_lstm import window_last_hidden


def _reference(lstm: nn.LSTM, feats: torch.Tensor, first: torch.Tensor, lookback: int):
    idx = first[:, None] + torch.arange(lookback)[None, :]
    windows = feats[:, idx].reshape(-1, lookback, feats.shape[-1])
    _, (h, _) = lstm(windows)
    return h[0].reshape(feats.shape[0], len(first), -1)


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_equals_nn_lstm_for_any_windows_and_chunking(chunk: int) -> None:
    gen = torch.Generator().manual_seed(3)
    lstm = nn.LSTM(6, 9, batch_first=True)
    with torch.no_grad():
        for w in lstm.parameters():
            w.copy_(torch.randn(w.shape, generator=gen))  # large weights: saturated gates too
    feats = 3 * torch.randn(4, 50, 6, generator=gen)
    first = torch.tensor([0, 13, 2, 30, 30, 5])  # unordered, repeated, not consecutive
    with torch.inference_mode():
        want = _reference(lstm, feats, first, 20)
        got = window_last_hidden(lstm, feats, first, 20, chunk=chunk)
    assert got.shape == (4, 6, 9)
    assert float((got - want).abs().max()) < 1e-5
    assert float(want.abs().max()) > 0.9  # some units saturate, so tanh's tails are exercised


def test_empty_window_list_and_unsupported_lstm() -> None:
    lstm = nn.LSTM(3, 4, batch_first=True)
    assert window_last_hidden(
        lstm, torch.zeros(2, 10, 3), torch.tensor([], dtype=torch.long), 5
    ).shape == (2, 0, 4)
    with pytest.raises(ValueError, match="1-layer"):
        window_last_hidden(
            nn.LSTM(3, 4, num_layers=2, batch_first=True),
            torch.zeros(1, 10, 3),
            torch.tensor([0]),
            5,
        )
