"""Batches of look-back windows that share their days, and the masked loss.

The CNN sees one day at a time, so a batch of windows needs each *distinct* day encoded once:
:func:`batch_forward` encodes the union of the batch's days with ``model.encode_days``, gathers
every window's feature sequence from it, applies dropout per window (as Keras' Dropout on the
365 x 32 sequence), runs the LSTM and the head. With the default ``"blocks"`` sampler a batch of
64 windows covers 64 + 365 - 1 = 428 days instead of 64 x 365 = 23 360, so the CNN does ~55x
less work than per-window encoding (:func:`naive_forward`, the reference), with equal results.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from hydrointerp.models.cnn_lstm import CNNLSTM

Sampler = Literal["blocks", "random"]


def epoch_batches(
    indices: np.ndarray, batch_size: int, sampler: Sampler, rng: np.random.Generator
) -> list[np.ndarray]:
    """Split one epoch's target indices into batches; every window appears exactly once.

    ``"blocks"`` (default): sort the targets, cut them into runs of ``batch_size`` consecutive
    targets starting at a random phase, and shuffle the order of the runs. Batches therefore differ
    from epoch to epoch and the order is random, but a batch's windows share most of their days.
    ``"random"``: the published full shuffle (Keras ``shuffle(buffer = all)``), then consecutive
    slices; batches then share few days and cost about as much as per-window encoding.
    """
    idx = np.asarray(indices, dtype=np.int64)
    if sampler == "random":
        perm = idx[rng.permutation(len(idx))]
        return [perm[i : i + batch_size] for i in range(0, len(perm), batch_size)]
    if sampler != "blocks":
        raise ValueError(f"unknown sampler {sampler!r}; use 'blocks' or 'random'")
    idx = np.sort(idx)
    phase = int(rng.integers(0, batch_size)) if len(idx) > batch_size else 0
    cuts = (
        list(range(phase, len(idx), batch_size)) if phase else list(range(0, len(idx), batch_size))
    )
    if phase:
        cuts = [0, *cuts]
    blocks = [idx[a:b] for a, b in zip(cuts, [*cuts[1:], len(idx)], strict=True)]
    order = rng.permutation(len(blocks))
    return [blocks[i] for i in order]


def window_days(targets: torch.Tensor, lookback: int) -> torch.Tensor:
    """Day indices ``[B, lookback]`` of the windows of ``targets`` (``t - lookback ... t - 1``)."""
    return targets[:, None] - lookback + torch.arange(lookback)[None, :]


def batch_features(
    model: CNNLSTM, frames: torch.Tensor, targets: torch.Tensor, lookback: int
) -> torch.Tensor:
    """Feature sequences ``[B, lookback, F]`` encoding each distinct day of the batch once."""
    days = window_days(targets, lookback)
    unique, inverse = torch.unique(days, return_inverse=True)
    feats = model.encode_days(frames[unique].to(model.device))
    return feats[inverse.to(model.device)]


def batch_forward(
    model: CNNLSTM, frames: torch.Tensor, targets: torch.Tensor, lookback: int
) -> torch.Tensor:
    """Predictions ``[B, n_out]`` for the windows of ``targets`` with shared-day encoding.

    Dropout is active when ``model.training`` (as :meth:`CNNLSTM.forward`).
    """
    feats = batch_features(model, frames, targets, lookback)
    return model.head(model.last_hidden(model.dropout(feats)))


def naive_forward(
    model: CNNLSTM, frames: torch.Tensor, targets: torch.Tensor, lookback: int
) -> torch.Tensor:
    """Reference: stack every window ``[B, lookback, H, W, C]`` and call ``model(x)``."""
    x = frames[window_days(targets, lookback)].to(model.device)
    return model(x)


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean squared error over the non-missing (non-NaN) targets, and how many there were.

    Missing targets contribute neither to the loss nor to its gradient. With no valid target the
    loss is a zero that still depends on ``pred`` (so ``backward`` works and gives zero gradients).
    """
    valid = ~torch.isnan(target)
    n = int(valid.sum())
    diff = torch.where(valid, pred - torch.nan_to_num(target), torch.zeros_like(pred))
    sse = (diff * diff).sum()
    return (sse / n if n else sse * 0.0), n


@torch.no_grad()
def evaluate_loss(
    model: CNNLSTM,
    frames: torch.Tensor,
    targets: torch.Tensor,
    indices: np.ndarray,
    lookback: int,
    batch_size: int = 256,
) -> float:
    """Masked MSE over all windows of ``indices`` (eval mode; see :func:`predict_indices`)."""
    idx = np.asarray(indices, dtype=np.int64)
    pred = predict_indices(model, frames, idx, lookback, batch_size)
    loss, n = masked_mse(pred, targets[torch.from_numpy(idx)].to(pred.dtype))
    return float(loss) if n else float("nan")


def needed_days(indices: np.ndarray, lookback: int, n_days: int) -> np.ndarray:
    """Sorted distinct days that the windows of ``indices`` cover (each window's days are
    consecutive in the result, because all of them are in it)."""
    edges = np.zeros(n_days + 1, dtype=np.int64)
    np.add.at(edges, indices - lookback, 1)
    np.add.at(edges, indices, -1)
    return np.flatnonzero(np.cumsum(edges)[:n_days] > 0)


@torch.no_grad()
def predict_indices(
    model: CNNLSTM,
    frames: torch.Tensor,
    indices: np.ndarray,
    lookback: int,
    batch_size: int = 256,
) -> torch.Tensor:
    """Predictions ``[len(indices), n_out]`` (eval mode, on the CPU), in the order of ``indices``.

    The days the windows cover go through :meth:`CNNLSTM.predict_block` together, so every
    distinct day is encoded once for all windows (not once per batch): on the CPU
    ``batch_size`` windows share an LSTM block (small enough to stay in cache); on a GPU all
    windows form one block (there the per-step kernel launches, not memory, bound the time).
    """
    idx = np.asarray(indices, dtype=np.int64)
    if not len(idx):
        return torch.zeros(0, model.arch.n_out)
    days = needed_days(idx, lookback, len(frames))
    targets = np.searchsorted(days, idx - lookback) + lookback  # the same windows, in days
    block = batch_size if model.device.type == "cpu" else len(idx)
    return model.predict_block(frames[torch.from_numpy(days)], targets, lookback, chunk=block)
