"""The last convolution + ReLU + global max-pool with its backward at the maxima."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hydrointerp.models import cpu_kernels
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.max_pooled_conv import max_pooled_conv, max_pooled_conv_applies

pytestmark = pytest.mark.skipif(
    cpu_kernels.cpu_kernels() is None, reason="no compiled kernel (no C compiler here)"
)


def _grads(conv: nn.Conv2d, x: torch.Tensor, fn) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_()
    feats = fn(x)
    weight = torch.linspace(-1.0, 1.5, feats.numel()).reshape(feats.shape)
    (feats * weight).sum().backward()
    out = (feats.detach(), x.grad, conv.weight.grad.clone(), conv.bias.grad.clone())
    conv.zero_grad()
    return out


def _dense(conv):  # noqa: ANN001, ANN202
    return lambda x: torch.relu(conv(x)).amax((2, 3))


@pytest.mark.parametrize("case", ["random", "corners", "ties", "all_negative"])
def test_equals_dense_autograd(case: str) -> None:
    gen = torch.Generator().manual_seed(4)
    conv = nn.Conv2d(5, 7, 3, padding=1)
    x = torch.randn(6, 5, 4, 9, generator=gen)
    if case == "corners":  # every maximum on the border: patches cut by the padding
        x = torch.zeros(6, 5, 4, 9)
        x[:, :, 0, 0], x[:, :, -1, -1], x[:, :, 0, -1] = 5.0, 4.0, 3.0
    if case == "ties":  # a constant field: many cells share each maximum
        x[2:4] = 1.0
    if case == "all_negative":  # maxima of 0 after the ReLU pass no gradient
        with torch.no_grad():
            conv.bias.fill_(-100.0)
    x = x.contiguous(memory_format=torch.channels_last)
    want = _grads(conv, x, _dense(conv))
    got = _grads(conv, x, lambda v: max_pooled_conv(conv, v))
    for name, a, b in zip(["features", "dx", "dweight", "dbias"], got, want, strict=True):
        assert float((a - b).abs().max()) <= 1e-5 * max(1.0, float(b.abs().max())), name
    if case != "all_negative":
        assert float(want[2].abs().max()) > 0  # the weights do receive a gradient


def test_encode_days_uses_it_when_training_and_gives_the_same_gradients(monkeypatch) -> None:
    model = CNNLSTM(Architecture(n_out=2, lstm_units=8))
    frames = torch.randn(10, 12, 32, 3, generator=torch.Generator().manual_seed(5))
    feats = model.encode_days(frames)
    feats.sum().backward()
    got = [p.grad.clone() for p in model.cnn.parameters()]
    model.zero_grad()
    monkeypatch.setattr(CNNLSTM, "_pool_at_maxima", lambda self, x: False)
    dense = model.encode_days(frames)
    dense.sum().backward()
    torch.testing.assert_close(feats, dense, rtol=0, atol=0)
    for a, p in zip(got, model.cnn.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-6)


def test_applies_only_to_same_size_stride_one_convolutions() -> None:
    x = torch.zeros(1, 3, 6, 6)
    assert max_pooled_conv_applies(nn.Conv2d(3, 4, 3, padding=1), x)
    assert max_pooled_conv_applies(nn.Conv2d(3, 4, 5, padding=2), x)
    assert not max_pooled_conv_applies(nn.Conv2d(3, 4, 3), x)  # no padding: smaller output
    assert not max_pooled_conv_applies(nn.Conv2d(3, 4, 3, padding=1, stride=2), x)
    assert not max_pooled_conv_applies(nn.Conv2d(3, 4, 2, padding=1), x)
    assert not max_pooled_conv_applies(nn.Conv2d(3, 4, 3, padding=1, bias=False), x)
    assert not max_pooled_conv_applies(nn.Conv2d(3, 4, 3, padding=1), x.double())
