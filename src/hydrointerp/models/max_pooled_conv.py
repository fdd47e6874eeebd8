"""The CNN's last convolution, its ReLU and the global max-pool, with a backward pass at the maxima.

The published CNN ends with a 3x3 convolution, a ReLU and a max over the whole grid: each day
keeps one number per filter. The gradient of that max is zero everywhere but at the cell that
holds it, so the convolution's backward pass only needs the 3x3 input patch around each maximum:
32 patches per day instead of a dense transposed convolution over the 6 x 16 grid. The scatter
runs in C (:mod:`hydrointerp.models.cpu_kernels`); the dense backward of this layer was ~20 ms
of a ~280 ms published training batch on 2 cores.

Ties (several cells equal to a positive maximum, e.g. a constant input field) share the gradient
equally, as ``torch.amax`` does; a batch with a tie takes the dense backward, so gradients always
equal those of ``relu(conv2d(x)).amax((2, 3))`` to float32 rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hydrointerp.models.cpu_kernels import CpuKernels, cpu_kernels


class _MaxPooledConv(torch.autograd.Function):
    """``relu(conv2d(x, w, b, padding)).amax((2, 3))`` for a stride-1, same-size convolution."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding, kernel: CpuKernels):  # noqa: ANN001, ANN205
        y = F.conv2d(x, weight, bias, padding=padding).relu_()
        flat = y.flatten(2)
        feats, where = flat.max(dim=2)
        tied = ((flat == feats[..., None]).sum(2) > 1) & (feats > 0)
        ctx.padding, ctx.kernel, ctx.dense = padding, kernel, bool(tied.any())
        ctx.save_for_backward(x, weight, feats, where, y if ctx.dense else None)
        return feats

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        x, weight, feats, where, y = ctx.saved_tensors
        g = (grad * (feats > 0)).contiguous()  # the ReLU passes nothing where the maximum is 0
        if ctx.dense:
            d_x, d_weight = _dense_backward(x, weight, y, feats, g, ctx.padding)
        else:
            d_x, d_weight = ctx.kernel.max_conv_backward(
                x.permute(0, 2, 3, 1).contiguous(),
                weight.permute(0, 2, 3, 1).contiguous(),
                where.contiguous(),
                g,
            )
            d_x, d_weight = d_x.permute(0, 3, 1, 2), d_weight.permute(0, 3, 1, 2)
        return d_x, d_weight, g.sum(0), None, None


def _dense_backward(x, weight, y, feats, g, padding):  # noqa: ANN001, ANN202
    at_max = y == feats[..., None, None]
    grad_y = at_max * (g / at_max.sum((2, 3)))[..., None, None]
    d_x = torch.nn.grad.conv2d_input(x.shape, weight, grad_y, padding=padding)
    return d_x, torch.nn.grad.conv2d_weight(x, weight.shape, grad_y, padding=padding)


def max_pooled_conv_applies(conv: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`max_pooled_conv` can stand in for ``relu(conv(x)).amax((2, 3))``."""
    return (
        isinstance(conv, nn.Conv2d)
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and conv.bias is not None
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and all(k % 2 == 1 for k in conv.kernel_size)
        and conv.padding == tuple(k // 2 for k in conv.kernel_size)
        and cpu_kernels() is not None
    )


def max_pooled_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``relu(conv(x))`` max-pooled over the grid: ``[N, C_out]``, differentiable.

    Check :func:`max_pooled_conv_applies` first.
    """
    return _MaxPooledConv.apply(x, conv.weight, conv.bias, conv.padding, cpu_kernels())
