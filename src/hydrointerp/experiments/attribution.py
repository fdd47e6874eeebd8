"""Gradient attributions (Captum) in the layout of Experiments 1 and 2, for comparing methods.

For each target day and station, Captum's ``IntegratedGradients`` or ``Saliency`` attributes the
station's output to every input value of its look-back window; ``|attribution|`` summed over the
look-back days gives a ``(lat, lon)`` map per channel. Summed over all channels it is the analogue
of an Experiment 1 daily map; over the temperature or precipitation channels, of Experiment 2.
Ensemble members are kept apart and their maps averaged, like the perturbation maps.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
import xarray as xr
from captum.attr import IntegratedGradients, Saliency
from torch import nn
from tqdm.auto import tqdm

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.models.cnn_lstm import CNNLSTM

METHODS = ("perturbation", "integrated_gradients", "saliency")
GRADIENT_METHODS = METHODS[1:]


class StationOutput(nn.Module):
    """A CNN-LSTM as a function of its window, ``x[B, T, H, W, C] -> y[B, n_out]`` (float32)."""

    def __init__(self, model: CNNLSTM) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The plain per-window forward pass."""
        return self.model(x)


def network_members(predictor: object) -> Iterator[tuple[CNNLSTM, np.ndarray, int]]:
    """(model, output station positions, member) for a CNNLSTM or an Ensemble."""
    if isinstance(predictor, CNNLSTM):
        yield predictor, np.arange(predictor.arch.n_out), 0
        return
    if not hasattr(predictor, "groups"):
        raise ConfigError(
            "gradient attributions need a CNN-LSTM or an ensemble of them"
            f" (got {type(predictor).__name__}); use method='perturbation'"
        )
    pos = {s: i for i, s in enumerate(predictor.station_ids)}  # type: ignore[attr-defined]
    for g in predictor.groups.values():  # type: ignore[attr-defined]
        idx = np.asarray([pos[s] for s in g.station_ids])
        for i, m in enumerate(g.members):
            yield m, idx, i


def attribute_window(
    model: CNNLSTM, window: torch.Tensor, station: int, method: str, n_steps: int = 16
) -> torch.Tensor:
    """Captum attribution ``[T, H, W, C]`` of output ``station`` for one window ``[T, H, W, C]``.

    Integrated gradients start from the all-zero window (the training mean in normalised units).
    """
    if method not in GRADIENT_METHODS:
        raise ConfigError(f"method must be one of {GRADIENT_METHODS}, got {method!r}")
    f = StationOutput(model)
    x = window[None].clone().requires_grad_(True)
    with torch.enable_grad():
        if method == "saliency":
            attr = Saliency(f).attribute(x, target=station, abs=False)
        else:
            ig = IntegratedGradients(f)
            attr = ig.attribute(
                x,
                baselines=torch.zeros_like(x),
                target=station,
                n_steps=n_steps,
                internal_batch_size=n_steps,
            )
    return attr[0].detach()


def attribution_maps(
    inputs: ExperimentInputs, method: str, n_steps: int = 16, progress: bool = True
) -> xr.DataArray:
    """``attribution(time, station, lat, lon, channel)``: member-mean ``sum_lookback |attr|``."""
    if method not in GRADIENT_METHODS:
        raise ConfigError(f"method must be one of {GRADIENT_METHODS}, got {method!r}")
    frames = torch.as_tensor(inputs.frames_array())
    targets = inputs.target_indices()
    lb = inputs.lookback
    n_st = inputs.stations.sizes["station"]
    out = torch.zeros(len(targets), n_st, *frames.shape[1:], dtype=torch.float64)
    members = list(network_members(inputs.predictor))
    n_members = 1 + max(m for _, _, m in members)
    total = len(targets) * sum(len(idx) for _, idx, _ in members)
    bar = tqdm(total=total, desc=f"{method} attributions", disable=not progress)
    for k, t in enumerate(targets):
        window = frames[t - lb : t]
        for model, idx, _ in members:
            for j, st in enumerate(idx):
                attr = attribute_window(model, window.to(model.device), j, method, n_steps)
                out[k, st] += attr.abs().sum(0).double().cpu() / n_members
                bar.update(1)
    bar.close()
    da = xr.DataArray(
        out.numpy().astype(np.float32),
        dims=("time", "station", "lat", "lon", "channel"),
        coords={
            "time": inputs.target_times,
            "station": inputs.stations["station"].values,
            "lat": inputs.frames["lat"].values,
            "lon": inputs.frames["lon"].values,
            "channel": inputs.frames["channel"].values,
        },
        name="attribution",
        attrs={"long_name": f"|{method}| summed over look-back days", "units": "1"},
    )
    return da


def gradient_daily_maps(
    inputs: ExperimentInputs,
    method: str,
    channels: tuple[int, ...] = (0, 1, 2),
    n_steps: int = 16,
    progress: bool = True,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Daily maps ``(time, station, lat, lon)`` over ``channels`` and modelled flow, as
    :func:`hydrointerp.experiments.daily.daily_maps` returns them."""
    attr = attribution_maps(inputs, method, n_steps, progress)
    maps = attr.isel(channel=list(channels)).sum("channel").rename("sensitivity")
    return maps, modelled_flow(inputs)


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
