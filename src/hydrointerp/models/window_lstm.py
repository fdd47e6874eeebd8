"""The LSTM over many overlapping look-back windows of cached per-day features (inference only).

Every window starts from a zero state, so windows cannot share LSTM steps; what they can share is
the input projection ``W_ih x + b`` of each distinct day, computed once here and gathered per step
(no ``[windows, lookback, features]`` copy is ever built). Each step is then one matrix product
and a handful of element-wise operations on a block of windows small enough to stay in cache.

On CPU, ``torch.tanh`` costs about four times ``torch.sigmoid`` per element, so the cell uses
``tanh(z) = 2 sigmoid(2 z) - 1``: the candidate gate's weights are doubled once, one ``sigmoid``
covers all four gates, and the cell state is carried doubled (``k = 2 c``) so that ``tanh(c)``
needs no extra scaling. The result equals ``torch.nn.LSTM`` to float32 rounding (about 1e-6).

On the CPU, when a C compiler is available, the element-wise part of each step runs in one
compiled pass instead (:mod:`hydrointerp.models.cpu_kernels`); the PyTorch cell remains for GPUs,
machines without a compiler and as the reference the kernel is tested against.
"""

from __future__ import annotations

import torch
from torch import nn

from hydrointerp.models.cpu_kernels import CpuKernels, cpu_kernels


def _scaled_weights(lstm: nn.LSTM) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(W_ih, W_hh^T, b)`` with the candidate-gate rows doubled (gate order i, f, g, o)."""
    u = lstm.hidden_size
    scale = torch.ones(4 * u, dtype=lstm.weight_ih_l0.dtype, device=lstm.weight_ih_l0.device)
    scale[2 * u : 3 * u] = 2.0
    w_ih = lstm.weight_ih_l0 * scale[:, None]
    w_hh_t = (lstm.weight_hh_l0 * scale[:, None]).T.contiguous()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0) * scale
    return w_ih, w_hh_t, bias


def _run_block(x_proj: torch.Tensor, first: torch.Tensor, lookback: int, w_hh_t: torch.Tensor):
    """Last hidden state of the windows whose first day is ``first`` (rows of ``x_proj``)."""
    n, u = len(first), w_hh_t.shape[0]
    h = x_proj.new_zeros(n, u)
    k = x_proj.new_zeros(n, u)  # doubled cell state 2c
    gates = x_proj.new_empty(n, 4 * u)
    squashed = x_proj.new_empty(n, u)
    for step in range(lookback):
        torch.index_select(x_proj, 0, first + step, out=gates)
        gates.addmm_(h, w_hh_t).sigmoid_()
        i, f, g, o = gates.split(u, dim=1)
        # 2c' = f * 2c + 2 i tanh(g) = f * k + 4 i sigmoid(2g) - 2 i
        k.mul_(f).addcmul_(i, g, value=4.0).add_(i, alpha=-2.0)
        torch.sigmoid(k, out=squashed)
        # h = o tanh(c) = 2 o sigmoid(2c) - o
        h = torch.addcmul(o.neg(), o, squashed, value=2.0)
    return h


def _run_block_compiled(
    x_proj: torch.Tensor,
    first: torch.Tensor,
    lookback: int,
    w_hh_t: torch.Tensor,
    kernel: CpuKernels,
) -> torch.Tensor:
    """:func:`_run_block` with the element-wise part of each step in the compiled kernel."""
    n, u = len(first), w_hh_t.shape[0]
    h = x_proj.new_zeros(n, u)
    c = x_proj.new_zeros(n, u)
    gates = x_proj.new_empty(n, 4 * u)
    first = first.contiguous()
    for step in range(lookback):
        torch.mm(h, w_hh_t, out=gates)
        kernel.step(gates, x_proj, first, step, c, h)
    return h


def _block_runner(x_proj: torch.Tensor, compiled: bool | None):
    """The compiled cell where it applies (``compiled=None``: whenever it is available)."""
    usable = x_proj.device.type == "cpu" and x_proj.dtype == torch.float32
    kernel = cpu_kernels() if usable and compiled is not False else None
    if compiled and kernel is None:
        raise RuntimeError(
            "compiled=True, but the compiled LSTM cell is not available here (it needs float32 "
            "on the CPU and a C compiler; see hydrointerp.models.cpu_kernels)"
        )
    if kernel is None:
        return _run_block
    return lambda xp, first, lookback, w: _run_block_compiled(xp, first, lookback, w, kernel)


@torch.inference_mode()
def window_last_hidden(
    lstm: nn.LSTM,
    feats: torch.Tensor,
    first_days: torch.Tensor,
    lookback: int,
    chunk: int = 1024,
    compiled: bool | None = None,
) -> torch.Tensor:
    """Last hidden state of the LSTM for many windows of cached day features.

    Parameters
    ----------
    lstm
        A single-layer, unidirectional, batch-first ``nn.LSTM``.
    feats
        ``[P, D, F]``: per-day features of ``P`` copies (e.g. perturbations) of ``D`` days.
    first_days
        ``[N]`` index of each window's first day; window ``n`` is days
        ``first_days[n] : first_days[n] + lookback`` of every copy.
    lookback
        Window length in days.
    chunk
        Windows per block (keeps each step's gates in cache).
    compiled
        Use the compiled cell step: ``None`` (default) where available, ``False`` never (the
        PyTorch cell), ``True`` always (an error where it is not available).

    Returns
    -------
    torch.Tensor
        ``[P, N, U]`` hidden state after each window's last day.
    """
    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first:
        raise ValueError("window_last_hidden needs a 1-layer, unidirectional, batch_first LSTM")
    p, d, _ = feats.shape
    w_ih, w_hh_t, bias = _scaled_weights(lstm)
    x_proj = torch.addmm(bias, feats.reshape(p * d, -1), w_ih.T)
    run_block = _block_runner(x_proj, compiled)
    first = first_days.to(device=feats.device, dtype=torch.long)
    starts = (torch.arange(p, device=feats.device)[:, None] * d + first[None, :]).reshape(-1)
    if not len(starts):
        return feats.new_zeros(p, len(first), lstm.hidden_size)
    hidden = [_padded(run_block, x_proj, s, lookback, w_hh_t) for s in starts.split(chunk)]
    return torch.cat(hidden).reshape(p, len(first), -1)


#: fewest windows per step product: BLAS takes another kernel for a matrix of 1-3 rows, which
#: changes the last bit, so smaller blocks are padded (a window's numbers then never depend on
#: how many other windows share its call: an experiment's day blocks are bit-identical)
MIN_ROWS = 8


def _padded(run_block, x_proj, first, lookback, w_hh_t):  # noqa: ANN001, ANN202
    """``run_block`` on at least :data:`MIN_ROWS` windows (copies of the first), cut back."""
    n = len(first)
    if n >= MIN_ROWS:
        return run_block(x_proj, first, lookback, w_hh_t)
    pad = torch.cat([first, first[:1].expand(MIN_ROWS - n)])
    return run_block(x_proj, pad, lookback, w_hh_t)[:n]
