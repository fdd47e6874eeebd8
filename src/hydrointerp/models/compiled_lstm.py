"""The LSTM's last hidden state with a compiled forward and backward pass, for training on CPU.

Training the published model spent about as long in ``nn.LSTM`` (oneDNN) as in the CNN: with 64
windows a step's matrix products are small, and each step pays for a dozen library calls. Here
the windows' recurrences run in C (:mod:`hydrointerp.models.cpu_kernels`), each thread taking
whole windows through all steps with no synchronisation; the products that batch well stay in
PyTorch's BLAS: the input projection of every window-step before the loop, and the weight and
input gradients as three matrix products after it. Gradients equal ``nn.LSTM``'s to float32
rounding.

Used by :meth:`~hydrointerp.models.cnn_lstm.CNNLSTM.last_hidden` on the CPU when the compiled
kernel is available and gradients are needed; otherwise ``nn.LSTM`` runs as before.
"""

from __future__ import annotations

import torch
from torch import nn

from hydrointerp.models.cpu_kernels import CpuKernels, cpu_kernels


class _CompiledLastHidden(torch.autograd.Function):
    """``h_T`` of a zero-state LSTM over ``x [n, T, F]``."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, kernel: CpuKernels):  # noqa: ANN001, ANN205
        n, steps, _ = x.shape
        u = w_hh.shape[1]
        x_proj = torch.addmm(b_ih + b_hh, x.reshape(n * steps, -1), w_ih.T).reshape(n, steps, -1)
        act = x.new_empty(n, steps, 4 * u)
        c = x.new_zeros(n, steps + 1, u)
        h = x.new_zeros(n, steps + 1, u)
        tanh_c = x.new_empty(n, steps, u)
        kernel.train_forward(x_proj, w_hh.T.contiguous(), act, c, tanh_c, h)
        ctx.kernel = kernel
        ctx.save_for_backward(x, w_ih, w_hh, act, c, tanh_c, h)
        return h[:, steps].clone()

    @staticmethod
    def backward(ctx, grad_h):  # noqa: ANN001, ANN205
        x, w_ih, w_hh, act, c, tanh_c, h = ctx.saved_tensors
        n, steps, _ = act.shape
        dz = torch.empty_like(act)
        ctx.kernel.train_backward(act, c, tanh_c, w_hh.contiguous(), grad_h.contiguous(), dz)
        flat = dz.reshape(n * steps, -1)
        need_x, need_w_ih, need_w_hh, need_b_ih, need_b_hh, _ = ctx.needs_input_grad
        d_x = (flat @ w_ih).reshape(n, steps, -1) if need_x else None  # e.g. attributions
        d_w_ih = flat.T @ x.reshape(n * steps, -1) if need_w_ih else None
        d_w_hh = flat.T @ h[:, :steps].reshape(n * steps, -1) if need_w_hh else None
        d_bias = flat.sum(0) if need_b_ih or need_b_hh else None
        d_b_hh = d_bias.clone() if need_b_hh else None
        return d_x, d_w_ih, d_w_hh, d_bias if need_b_ih else None, d_b_hh, None


def compiled_applies(lstm: nn.LSTM, x: torch.Tensor) -> bool:
    """Whether :func:`compiled_last_hidden` can run this LSTM on this input."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and lstm.weight_hh_l0.dtype == torch.float32
        and lstm.num_layers == 1
        and not lstm.bidirectional
        and lstm.batch_first
        and lstm.bias
        and lstm.proj_size == 0
        and x.shape[1] > 0
        and cpu_kernels() is not None
    )


def compiled_last_hidden(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """Last hidden state ``[n, U]`` of ``lstm`` over ``x [n, T, F]`` from a zero state.

    Differentiable with respect to ``x`` and the LSTM's weights; check :func:`compiled_applies`
    first.
    """
    kernel = cpu_kernels()
    if kernel is None:
        raise RuntimeError("the compiled LSTM cell is not available on this machine")
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    return _CompiledLastHidden.apply(x.contiguous(), *weights, kernel)
