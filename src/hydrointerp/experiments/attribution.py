"""Differentiable predictors for the gradient attributions: networks, output wrapper, cuDNN guard.

The gradient methods of :mod:`hydrointerp.experiments.attribution_methods` need each network of
a predictor as an ``nn.Module`` of its window, ``x[B, T, H, W, C] -> y[B, n_out]``, and which
stations its outputs are: the Predictor contract's network groups
(:func:`~hydrointerp.predictor.networks`), for a single network, an ensemble bulk or routed by
cluster (members are averaged by the caller) or the known-answer
:class:`~hydrointerp.models.linear_window.LinearWindow`. :func:`network_members` refuses a
predictor without networks (the simulator).

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
from hydrointerp.predictor import Predictor, networks


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


def network_members(predictor: Predictor) -> list[tuple[nn.Module, np.ndarray, int]]:
    """``(network, output station positions, member)`` for every network of ``predictor``.

    Raises
    ------
    ConfigError
        When the predictor has no networks (the simulator).
    """
    found = networks(predictor)
    if not found:
        raise ConfigError(
            "gradient attributions need a predictor with networks (a CNN-LSTM, an ensemble of"
            f" them, a LinearWindow); got {type(predictor).__name__}, which has none; use a"
            " perturbation or mask method (perturbation, rise, occlusion, basin_ablation)"
        )
    return found


def modelled_flow(inputs: ExperimentInputs) -> xr.DataArray:
    """Unperturbed ensemble-mean prediction ``flow_model(time, station)``."""
    y = inputs.predictor.predict_block(inputs.frames_array()[None], inputs.target_indices())[0]
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
