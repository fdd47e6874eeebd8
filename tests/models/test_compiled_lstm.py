"""The compiled training LSTM (C forward and backward) against torch.nn.LSTM."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hydrointerp.models import compiled_lstm, cpu_kernels
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.compiled_lstm import compiled_applies, compiled_last_hidden

pytestmark = pytest.mark.skipif(
    cpu_kernels.cpu_kernels() is None, reason="no compiled kernel (no C compiler here)"
)


def _grads(lstm: nn.LSTM, x: torch.Tensor, fn) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_()
    out = fn(x)
    weight = torch.linspace(-1.0, 2.0, out.shape[1])
    (out * weight).sum().backward()
    grads = tuple(p.grad.clone() for p in lstm.parameters())
    lstm.zero_grad()
    return (out.detach(), x.grad, *grads)


@pytest.mark.parametrize(
    ("windows", "steps", "inputs", "units", "scale"),
    [
        (64, 365, 32, 80, 0.15),  # the published LSTM, a batch of 64 year-long windows
        (5, 17, 6, 9, 1.0),  # windows not a multiple of the group of 4; units not of 16
        (1, 1, 3, 20, 3.0),  # one window, one step; large weights saturate the gates
    ],
)
def test_values_and_gradients_equal_nn_lstm(
    random_lstm, windows, steps, inputs, units, scale
) -> None:
    lstm = random_lstm(inputs, units, seed=windows + steps, scale=scale)
    x = 2.0 * torch.randn(windows, steps, inputs, generator=torch.Generator().manual_seed(1))
    want = _grads(lstm, x, lambda v: lstm(v)[1][0][0])
    got = _grads(lstm, x, lambda v: compiled_last_hidden(lstm, v))
    names = ["h", "dx", "dW_ih", "dW_hh", "db_ih", "db_hh"]
    for name, a, b in zip(names, got, want, strict=True):
        assert float((a - b).abs().max()) <= 2e-5 * max(1.0, float(b.abs().max())), name
    assert float(want[1].abs().max()) > 0.01  # gradients really flow back to the inputs


def test_last_hidden_uses_it_for_training_only(monkeypatch) -> None:
    model = CNNLSTM(Architecture(n_out=3, lstm_units=16))
    feats = torch.randn(4, 30, 32, generator=torch.Generator().manual_seed(2))
    calls = []
    real = compiled_lstm.compiled_last_hidden

    def counting(lstm, x):  # noqa: ANN001, ANN202
        calls.append(x.shape)
        return real(lstm, x)

    monkeypatch.setattr("hydrointerp.models.cnn_lstm.compiled_last_hidden", counting)
    trained = model.last_hidden(feats)
    with torch.no_grad():
        inferred = model.last_hidden(feats)
    assert calls == [feats.shape]
    torch.testing.assert_close(trained.detach(), inferred, rtol=0, atol=2e-6)


def test_applies_only_where_it_can(random_lstm) -> None:
    lstm = random_lstm(3, 4, seed=0)
    x = torch.zeros(2, 5, 3)
    assert compiled_applies(lstm, x)
    assert not compiled_applies(lstm.double(), x.double())
    assert not compiled_applies(nn.LSTM(3, 4, num_layers=2, batch_first=True), x)
    assert not compiled_applies(nn.LSTM(3, 4, batch_first=False), x)
    assert not compiled_applies(nn.LSTM(3, 4, batch_first=True, bidirectional=True), x)
    assert not compiled_applies(lstm, torch.zeros(2, 0, 3))


def test_input_gradients_alone_for_attributions(random_lstm) -> None:
    """Frozen weights (as in Captum attributions): only the input gradient is formed, and right."""
    lstm = random_lstm(4, 6, seed=3).requires_grad_(False)
    x = torch.randn(3, 7, 4, generator=torch.Generator().manual_seed(3))
    got = torch.autograd.grad(compiled_last_hidden(lstm, x.requires_grad_()).sum(), x)[0]
    want = torch.autograd.grad(lstm(x)[1][0][0].sum(), x)[0]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in lstm.parameters())


def test_kernels_refuse_memory_they_cannot_read() -> None:
    kernels = cpu_kernels.cpu_kernels()
    act = torch.zeros(2, 3, 8)
    ok = dict(c=torch.zeros(2, 4, 2), tanh_c=torch.zeros(2, 3, 2), w_hh=torch.zeros(8, 2))
    with pytest.raises(ValueError, match="contiguous float32 CPU tensors, got torch.float32"):
        kernels.train_backward(
            act, ok["c"], ok["tanh_c"], ok["w_hh"], torch.zeros(2, 4)[:, ::2], torch.zeros(2, 3, 8)
        )
    with pytest.raises(ValueError, match="got torch.float64"):
        kernels.train_backward(
            act.double(), ok["c"], ok["tanh_c"], ok["w_hh"], torch.zeros(2, 2), act.clone()
        )
