"""The Predictor protocol: anything that maps blocks of input days to flow at stations.

A trained network, an ensemble, the fine-tuned ensemble routed by cluster and the virtual region's
process simulator all implement it, so every experiment measures the truth with the same code that
measures the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Predictor(Protocol):
    """Maps normalised input days to normalised flow at ``station_ids``.

    ``predict_block(frames[P, D, H, W, C], targets) -> [P, len(targets), n_station]`` where the
    window of target ``t`` is ``frames[:, t - lookback : t]`` and ``lookback <= t <= D``.
    """

    station_ids: tuple[str, ...]
    lookback: int

    def predict_block(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray
    ) -> torch.Tensor: ...
