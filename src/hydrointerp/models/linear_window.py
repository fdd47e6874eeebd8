"""A predictor whose output is a known weighted sum of its window: the attribution known answer.

``y[s] = sum_{t, h, w, c} weight[s, t, h, w, c] * x[t, h, w, c] + bias[s]``. Every attribution
method has a closed form on it (saliency ``|w|``, input x gradient ``w x``, occlusion
``w (x - baseline)`` summed over the occluded cell, ...), which the tests of
:mod:`hydrointerp.experiments.attribution_methods` check. It is an ``nn.Module`` (so the gradient
methods differentiate it) and a :class:`~hydrointerp.predictor.Predictor` (so the perturbation
engine and the mask methods call its ``predict_block``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hydrointerp.errors import ConfigError
from hydrointerp.predictor import NetworkGroup, single_network


class LinearWindow(nn.Module):
    """Linear map of a look-back window ``x[B, T, H, W, C]`` to ``y[B, n_station]``.

    Parameters
    ----------
    weight
        ``[n_station, T, H, W, C]``; ``T`` is the look-back length.
    bias
        ``[n_station]`` (default zeros).
    station_ids
        Output station order (default ``"0"``, ``"1"``, ...).
    """

    def __init__(
        self,
        weight: torch.Tensor | np.ndarray,
        bias: torch.Tensor | np.ndarray | None = None,
        station_ids: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        w = torch.as_tensor(weight, dtype=torch.float32)
        if w.ndim != 5:
            raise ConfigError(f"weight must be [station, T, H, W, C], got shape {tuple(w.shape)}")
        b = torch.zeros(w.shape[0]) if bias is None else torch.as_tensor(bias, dtype=torch.float32)
        if b.shape != (w.shape[0],):
            raise ConfigError(f"bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")
        self.weight = nn.Parameter(w, requires_grad=False)
        self.bias = nn.Parameter(b, requires_grad=False)
        ids = station_ids if station_ids is not None else [str(i) for i in range(w.shape[0])]
        self.station_ids = tuple(str(s) for s in ids)
        self.lookback = int(w.shape[1])

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return self.weight.device

    def network_groups(self) -> tuple[NetworkGroup, ...]:
        """One group of one member, this network, over all its stations (Predictor contract)."""
        return single_network(self, self.station_ids)

    def first_members(self, n: int) -> LinearWindow:
        """A single network is its own first member (Predictor contract)."""
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, T, H, W, C] -> y[B, n_station]``."""
        return torch.einsum("bthwc,sthwc->bs", x, self.weight) + self.bias

    @torch.no_grad()
    def predict_block(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray
    ) -> torch.Tensor:
        """``frames[(P,) D, H, W, C] -> [(P,) len(targets), n_station]``; window of ``t`` is
        ``frames[..., t - lookback : t, :, :, :]``."""
        x = torch.as_tensor(np.asarray(frames, dtype=np.float32))
        single = x.ndim == 4
        x = x[None] if single else x
        t = np.asarray(targets, dtype=np.int64)
        if t.size and (t.min() < self.lookback or t.max() > x.shape[1]):
            raise ConfigError(f"targets must lie in [{self.lookback}, {x.shape[1]}]")
        out = torch.stack(
            [self(x[:, k - self.lookback : k].to(self.device)) for k in t], dim=1
        ).cpu()
        return out[0] if single else out
