"""Differentiable predictors for the gradient attributions: networks, output wrapper, cuDNN guard.

The gradient methods of :mod:`hydrointerp.experiments.attribution_methods` need each network of
a predictor as an ``nn.Module`` of its window, ``x[B, T, H, W, C] -> y[B, n_out]``, and which
stations its outputs are. :func:`network_members` accepts

* a :class:`~hydrointerp.models.cnn_lstm.CNNLSTM` (outputs = stations ``0..n_out-1``);
* an :class:`~hydrointerp.models.ensemble.Ensemble`, bulk or routed by cluster (every member
  model with the positions of its stations; members are averaged by the caller);
* any other ``nn.Module`` with ``station_ids`` whose forward maps windows to those stations
  (e.g. :class:`~hydrointerp.models.linear_window.LinearWindow`, the known-answer predictor).

Recurrent pitfall: cuDNN refuses the backward pass of an RNN in eval mode ("cudnn RNN backward
can only be called in training mode"). Switching to train mode would turn dropout on and change
the function being explained, so :func:`gradient_guard` instead disables cuDNN (PyTorch's native
LSTM kernels differentiate in eval mode) while the attributions run on a CUDA device.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch import nn

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.models.cnn_lstm import CNNLSTM


class StationOutput(nn.Module):
    """A network as a function of its window, ``x[B, T, H, W, C] -> y[B, n_out]`` (eval mode)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The plain per-window forward pass."""
        return self.model(x)


def module_device(model: nn.Module) -> torch.device:
    """Device of a module's parameters (CPU for a module without any)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextmanager
def gradient_guard(device: torch.device | str) -> Iterator[None]:
    """Gradients on, and cuDNN off when ``device`` is CUDA (the eval-mode RNN backward error).

    Restores the previous cuDNN setting on exit. On the CPU only gradients are switched on.
    """
    with ExitStack() as stack:
        stack.enter_context(torch.enable_grad())
        if torch.device(device).type == "cuda":
            stack.enter_context(torch.backends.cudnn.flags(enabled=False))
        yield


def network_members(predictor: object) -> Iterator[tuple[nn.Module, np.ndarray, int]]:
    """``(network, output station positions, member)`` for every network of ``predictor``."""
    if isinstance(predictor, CNNLSTM):
        yield predictor, np.arange(predictor.arch.n_out), 0
        return
    if hasattr(predictor, "groups") and hasattr(predictor, "station_ids"):
        pos = {s: i for i, s in enumerate(predictor.station_ids)}  # type: ignore[attr-defined]
        for g in predictor.groups.values():  # type: ignore[attr-defined]
            idx = np.asarray([pos[s] for s in g.station_ids])
            for i, m in enumerate(g.members):
                yield m, idx, i
        return
    if isinstance(predictor, nn.Module) and hasattr(predictor, "station_ids"):
        yield predictor, np.arange(len(predictor.station_ids)), 0
        return
    raise ConfigError(
        "gradient attributions need a CNN-LSTM, an ensemble of them or an nn.Module with"
        f" station_ids (got {type(predictor).__name__}); use a perturbation or mask method"
        " (perturbation, rise, occlusion, basin_ablation)"
    )


def attribute_window(
    model: CNNLSTM, window: torch.Tensor, station: int, method: str, n_steps: int = 16
) -> torch.Tensor:
    """Attribution ``[T, H, W, C]`` of output ``station`` for one window ``[T, H, W, C]``.

    A one-window shortcut to :func:`~hydrointerp.experiments.attribution_methods.window_attribution`
    (zero baseline for integrated gradients).
    """
    from hydrointerp.experiments.attribution_methods import AttributionSettings, window_attribution

    settings = AttributionSettings(n_steps=n_steps)
    return window_attribution(method, model, window[None], [station], settings)[0]


def __getattr__(name: str) -> object:
    """``METHODS``: the registered attribution method names (read lazily from
    :mod:`~hydrointerp.experiments.attribution_methods`, which builds on this module)."""
    if name == "METHODS":
        from hydrointerp.experiments.attribution_methods import METHOD_NAMES

        return METHOD_NAMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def modelled_flow(inputs: ExperimentInputs) -> xr.DataArray:
    """Unperturbed ensemble-mean prediction ``flow_model(time, station)``."""
    pred = inputs.predictor
    targets = inputs.target_indices()
    frames = inputs.frames_array()
    if isinstance(pred, CNNLSTM):
        y = pred.predict_block(frames, targets, lookback=inputs.lookback)
    else:
        y = pred.predict_block(frames[None], targets)[0]  # type: ignore[attr-defined]
    return xr.DataArray(
        np.asarray(y, dtype=np.float32),
        dims=("time", "station"),
        coords={
            "time": pd.DatetimeIndex(inputs.target_times),
            "station": inputs.stations["station"].values,
        },
        name="flow_model",
        attrs={"long_name": "modelled normalised flow (ensemble mean)", "units": "1"},
    )
