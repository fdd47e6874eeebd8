"""Completeness of integrated gradients: does the attribution add up to the change it explains?

Integrated gradients with a zero baseline is *complete* when, for each station and target day,
the sum of its attributions over every cell, channel and look-back day equals
``f(x) - f(0)``, the change of the output between the input window and the all-zero window
(Sundararajan et al. 2017). The integral is approximated with ``n_steps`` Gauss-Legendre points,
so the gap measures how far from converged a run's IG maps are: a map whose parts do not add up
to the change cannot be read as "how much each cell contributed". On a linear predictor the gap
is zero at any ``n_steps``; on a CNN-LSTM it falls as ``n_steps`` grows (the published model
needs about 64 steps for a median gap below 1 %, docs/interpretation.md).

:func:`ig_completeness` measures it on any :class:`~hydrointerp.experiments.inputs.
ExperimentInputs` whose predictor has networks (a single model or an ensemble, whose
attribution and change are both member means); ``tools/ig_completeness.py RUN_DIR`` prints it
for the model of a run directory at several step counts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import xarray as xr

from hydrointerp.experiments.attribution import network_members
from hydrointerp.experiments.attribution_methods import AttributionSettings
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.method_maps import attribute
from hydrointerp.predictor import member_count


def output_change(inputs: ExperimentInputs) -> np.ndarray:
    """``f(x) - f(0)`` per station and target day, ``[station, time]``: the member mean of
    each station's networks on its window against the all-zero window."""
    frames = torch.as_tensor(inputs.frames_array())
    lb = inputs.lookback
    n_members = member_count(inputs.predictor)
    change = np.zeros((inputs.stations.sizes["station"], len(inputs.target_times)))
    for k, t in enumerate(inputs.target_indices()):
        x = frames[t - lb : t][None]
        for model, idx, _ in network_members(inputs.predictor):
            model.eval()
            with torch.no_grad():
                d = (model(x) - model(torch.zeros_like(x)))[0].double().numpy()
            change[idx, k] += d / n_members
    return change


def ig_completeness(
    inputs: ExperimentInputs,
    n_steps: int,
    settings: AttributionSettings | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """The completeness gap of zero-baseline integrated gradients on ``inputs``.

    Parameters
    ----------
    inputs
        Experiment inputs of a predictor with networks; every target day is checked.
    n_steps
        Integration steps of integrated gradients.
    settings
        Other attribution settings (batch size); ``n_steps`` and ``signed=True`` override.

    Returns
    -------
    xarray.Dataset
        ``attribution_sum``, ``change`` (``f(x) - f(0)``) and ``relative_error``
        (``|sum - change| / |change|``) per ``(station, time)``; attributes ``n_steps``,
        ``median_relative_error``, ``max_relative_error``, ``summed_relative_error``
        (``sum |sum - change| / sum |change|``, which small changes cannot inflate).
    """
    s = replace(settings or AttributionSettings(), n_steps=int(n_steps), signed=True)
    channels = tuple(range(int(inputs.frames_array().shape[-1])))
    maps = attribute(inputs, "integrated_gradients", s, [channels], lags=False, progress=progress)
    total = maps["attribution"].astype(np.float64).sum(("lat", "lon", "channel"))
    change = xr.DataArray(output_change(inputs), dims=("station", "time"), coords=total.coords)
    gap = np.abs(total - change)
    rel = gap / np.abs(change).where(np.abs(change) > 0)
    summed = float(gap.sum() / np.abs(change).sum())
    ds = xr.Dataset(
        {
            "attribution_sum": total.assign_attrs(
                long_name="sum of IG attributions over cells, channels and look-back days"
            ),
            "change": change.assign_attrs(long_name="f(x) - f(0), member mean"),
            "relative_error": rel.assign_attrs(long_name="|attribution sum - change| / |change|"),
        },
        attrs={
            "method": "integrated_gradients",
            "baseline": "zero",
            "n_steps": int(n_steps),
            "median_relative_error": float(rel.median()),
            "max_relative_error": float(rel.max()),
            "summed_relative_error": summed,
        },
    )
    return ds
