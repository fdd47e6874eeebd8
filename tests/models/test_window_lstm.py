"""The window LSTM (cached day projections, sigmoid-only cell) equals torch.nn.LSTM.

Both cells are checked: the PyTorch one and the compiled one (cpu_kernels), which must build
wherever a C compiler is found.
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch import nn

from hydrointerp.models import cpu_kernels
from hydrointerp.models.window_lstm import window_last_hidden

CELLS = [False, True]  # compiled=False: the PyTorch cell; True: the compiled one


def _need_kernel(compiled: bool) -> None:
    """Skip the compiled variant where there is no kernel (no compiler, or switched off)."""
    if compiled and cpu_kernels.cpu_kernels() is None:
        pytest.skip("no compiled kernel here: the PyTorch cell is what runs")


@pytest.fixture(autouse=True)
def _fresh_kernel_cache():
    cpu_kernels.cpu_kernels.cache_clear()
    yield
    cpu_kernels.cpu_kernels.cache_clear()


def _reference(lstm: nn.LSTM, feats: torch.Tensor, first: torch.Tensor, lookback: int):
    idx = first[:, None] + torch.arange(lookback)[None, :]
    windows = feats[:, idx].reshape(-1, lookback, feats.shape[-1])
    _, (h, _) = lstm(windows)
    return h[0].reshape(feats.shape[0], len(first), -1)


@pytest.mark.parametrize("compiled", CELLS)
@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_equals_nn_lstm_for_any_windows_and_chunking(
    random_lstm, chunk: int, compiled: bool
) -> None:
    _need_kernel(compiled)
    lstm = random_lstm(6, 9, seed=3)  # large weights: saturated gates too
    feats = 3 * torch.randn(4, 50, 6, generator=torch.Generator().manual_seed(4))
    first = torch.tensor([0, 13, 2, 30, 30, 5])  # unordered, repeated, not consecutive
    with torch.inference_mode():
        want = _reference(lstm, feats, first, 20)
        got = window_last_hidden(lstm, feats, first, 20, chunk=chunk, compiled=compiled)
    assert got.shape == (4, 6, 9)
    assert float((got - want).abs().max()) < 1e-5
    assert float(want.abs().max()) > 0.9  # some units saturate, so tanh's tails are exercised


@pytest.mark.parametrize("compiled", CELLS)
def test_long_windows_and_extreme_inputs(random_lstm, compiled: bool) -> None:
    """A year-long window of 80 units as published, and inputs far past exp's float range."""
    _need_kernel(compiled)
    lstm = random_lstm(32, 80, seed=5, scale=0.15)
    feats = torch.randn(1, 400, 32, generator=torch.Generator().manual_seed(6))
    feats[0, 100:110] *= 1000.0  # pre-activations of +-1e4: every gate pinned at 0 or 1
    first = torch.arange(0, 36, 5)
    with torch.inference_mode():
        want = _reference(lstm, feats, first, 365)
        got = window_last_hidden(lstm, feats, first, 365, compiled=compiled)
    assert torch.isfinite(got).all()
    assert float((got - want).abs().max()) < 1e-5


def test_the_compiled_cell_builds_wherever_a_compiler_is_found(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cpu_kernels.CACHE_ENV, str(tmp_path))
    if cpu_kernels._compiler() is None or os.environ.get(cpu_kernels.SWITCH_ENV) == "0":
        pytest.skip("no C compiler on this machine (or switched off): the PyTorch cell is used")
    kernel = cpu_kernels.cpu_kernels()
    assert kernel is not None
    assert kernel.library.parent == tmp_path and kernel.library.name.startswith("cpu_kernels-")
    assert [p.name for p in tmp_path.iterdir()] == [kernel.library.name]  # no temporary left
    built = kernel.library.stat().st_mtime_ns
    cpu_kernels.cpu_kernels.cache_clear()
    assert cpu_kernels.cpu_kernels().library.stat().st_mtime_ns == built  # reused, not rebuilt


def test_switched_off_or_failed_build_falls_back_to_the_pytorch_cell(
    random_lstm, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv(cpu_kernels.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(cpu_kernels.SWITCH_ENV, "0")
    assert cpu_kernels.cpu_kernels() is None
    lstm = random_lstm(3, 4, seed=1)
    with pytest.raises(RuntimeError, match="compiled LSTM cell is not available"):
        window_last_hidden(lstm, torch.zeros(1, 10, 3), torch.tensor([0]), 5, compiled=True)
    cpu_kernels.cpu_kernels.cache_clear()
    monkeypatch.setenv(cpu_kernels.SWITCH_ENV, "1")
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with pytest.warns(RuntimeWarning, match="could not be built"):
        assert cpu_kernels.cpu_kernels() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once, not on every call
        got = window_last_hidden(lstm, torch.ones(1, 10, 3), torch.tensor([0, 2]), 5)
    with torch.inference_mode():
        want = _reference(lstm, torch.ones(1, 10, 3), torch.tensor([0, 2]), 5)
    assert float((got - want).abs().max()) < 1e-6
    assert list(tmp_path.iterdir()) == []  # the failed build left nothing behind


def test_compiled_cell_refuses_other_dtypes(random_lstm) -> None:
    lstm = random_lstm(3, 4, seed=1).double()
    with pytest.raises(RuntimeError, match="float32 on the CPU"):
        window_last_hidden(
            lstm, torch.zeros(1, 10, 3, dtype=torch.float64), torch.tensor([0]), 5, compiled=True
        )


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


def test_compiled_step_activations_to_float32_rounding() -> None:
    """One step against float64: sigmoid and tanh to 3e-7 over [-40, 40] (and clamped beyond)."""
    kernel = cpu_kernels.cpu_kernels()
    if kernel is None:
        pytest.skip("no compiled cell on this machine")
    u = 8001
    z = torch.linspace(-40.0, 40.0, u)
    gates = torch.stack([z, -z, z.flip(0), 0.5 * z])[None].reshape(1, 4 * u)  # i, f, g (doubled), o
    x_proj = torch.zeros(3, 4 * u)
    x_proj[2, :u] = 1000.0  # window start row 1, step 1: reads row 2; the input gate saturates
    c0 = torch.linspace(-3.0, 3.0, u)[None]
    c, h = c0.clone(), torch.zeros(1, u)
    kernel.step(gates.clone(), x_proj, torch.tensor([1]), 1, c, h)
    zd, cd = z.double(), c0[0].double()
    want_c = torch.sigmoid(-zd) * cd + torch.sigmoid(zd + 1000.0) * torch.tanh(zd.flip(0) / 2)
    want_h = torch.sigmoid(0.5 * zd) * torch.tanh(want_c)
    assert float((c[0].double() - want_c).abs().max()) < 3e-7
    assert float((h[0].double() - want_h).abs().max()) < 3e-7
