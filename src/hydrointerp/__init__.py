"""hydrointerp: regional CNN-LSTM streamflow models and their interpretation.

Implements Anderson & Radic (2022, HESS; 2022, Frontiers in Water) and goes further: the published
Keras models load without TensorFlow, every experiment also runs on a process simulator with known
truth, and the perturbation experiments run on a fast engine that encodes each day once.
"""

from __future__ import annotations

import os
from typing import Any

__version__ = "0.1.0"

# Ask PyTorch's CPU allocator for transparent huge pages on large tensors (before the first
# allocation). Without it every large temporary costs a page fault per 4 KiB: a training step of
# the demo model spent 0.29 s of 0.75 s CPU time in the kernel, 0.07 s with it (71 600 -> 3 700
# page faults). Harmless where the kernel has THP off; set THP_MEM_ALLOC_ENABLE=0 to opt out.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def __getattr__(name: str) -> Any:
    """The public API, imported on first use: ``import hydrointerp`` must not load torch."""
    if name == "load_keras_model":
        from hydrointerp.models.keras_import import load_keras_model

        return load_keras_model
    if name == "load_model":
        from hydrointerp.models.saved import load_model

        return load_model
    if name == "CNNLSTM":
        from hydrointerp.models.cnn_lstm import CNNLSTM

        return CNNLSTM
    if name == "Ensemble":
        from hydrointerp.models.ensemble import Ensemble

        return Ensemble
    raise AttributeError(name)


__all__ = ["CNNLSTM", "Ensemble", "__version__", "load_keras_model", "load_model"]
