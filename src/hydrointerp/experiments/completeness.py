"""Completeness of integrated gradients: does the attribution add up to the change it explains?

Integrated gradients is *complete* when, for each station and target day, the sum of its
attributions over every cell, channel and look-back day equals ``f(x) - f(b)``, the change of
the output between the input window and the baseline window ``b`` (all zeros, or the
climatology for ``integrated_gradients_climatology``; Sundararajan et al. 2017). The integral
is approximated with ``n_steps`` Gauss-Legendre points, so the gap measures how far from
converged a run's IG maps are: a map whose parts do not add up to the change cannot be read as
"how much each cell contributed". On a linear predictor the gap is zero at any ``n_steps``; on
a CNN-LSTM it falls as ``n_steps`` grows (the published model needs about 64 steps for a
median gap below 1 %, docs/interpretation.md), unless the network's output has near-jumps
along the path (docs/benchmark.md).

:func:`ig_completeness` measures it on any :class:`~hydrointerp.experiments.inputs.
ExperimentInputs` whose predictor has networks (a single model or an ensemble, whose
attribution and change are both member means); ``tools/ig_completeness.py RUN_DIR`` prints it
for the model of a run directory at several step counts. Every map experiment (heat map,
Experiments 1 and 2) made with an IG method checks itself on :data:`CHECK_DAYS` days
(:func:`completeness_attrs`, called by ``MapExperiment.__call__``), and its fidelity rows are
flagged ``not_converged`` when the maps miss their totals by more than
:data:`~hydrointerp.experiments.attribution_methods.COMPLETENESS_TOL`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import xarray as xr

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.attribution import network_members
from hydrointerp.experiments.attribution_methods import IG_METHODS, METHODS, AttributionSettings
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.method_maps import attribute, with_targets
from hydrointerp.experiments.record_attribution import climatology_record
from hydrointerp.predictor import member_count

#: target days of a run's own completeness check (:func:`completeness_attrs`)
CHECK_DAYS = 3


def output_change(inputs: ExperimentInputs, method: str = "integrated_gradients") -> np.ndarray:
    """``f(x) - f(b)`` per station and target day, ``[station, time]``: the member mean of each
    station's networks on its window against the method's baseline window ``b`` (zeros, or
    the day-of-year climatology of the input days for ``integrated_gradients_climatology``)."""
    _check(method)
    frames = torch.as_tensor(inputs.frames_array())
    base = torch.zeros_like(frames)
    if method == "integrated_gradients_climatology":
        base = torch.as_tensor(climatology_record(inputs))
    lb = inputs.lookback
    n_members = member_count(inputs.predictor)
    change = np.zeros((inputs.stations.sizes["station"], len(inputs.target_times)))
    for k, t in enumerate(inputs.target_indices()):
        x, b = frames[t - lb : t][None], base[t - lb : t][None]
        for model, idx, _ in network_members(inputs.predictor):
            model.eval()
            with torch.no_grad():
                d = (model(x) - model(b))[0].double().numpy()
            change[idx, k] += d / n_members
    return change


def _check(method: str) -> None:
    if method not in IG_METHODS:
        raise ConfigError(f"completeness is defined for {IG_METHODS}, got {method!r}")


def ig_completeness(
    inputs: ExperimentInputs,
    n_steps: int,
    settings: AttributionSettings | None = None,
    progress: bool = False,
    method: str = "integrated_gradients",
) -> xr.Dataset:
    """The completeness gap of integrated gradients on ``inputs``.

    Parameters
    ----------
    inputs
        Experiment inputs of a predictor with networks; every target day is checked.
    n_steps
        Integration steps of integrated gradients.
    settings
        Other attribution settings (batch size); ``n_steps`` and ``signed=True`` override.
    method
        ``integrated_gradients`` (zero baseline) or ``integrated_gradients_climatology``.

    Returns
    -------
    xarray.Dataset
        ``attribution_sum``, ``change`` (``f(x) - f(baseline)``) and ``relative_error``
        (``|sum - change| / |change|``) per ``(station, time)``; attributes ``n_steps``,
        ``median_relative_error``, ``max_relative_error``, ``summed_relative_error``
        (``sum |sum - change| / sum |change|``, which small changes cannot inflate).
    """
    _check(method)
    s = replace(settings or AttributionSettings(), n_steps=int(n_steps), signed=True)
    channels = tuple(range(int(inputs.frames_array().shape[-1])))
    maps = attribute(inputs, method, s, [channels], lags=False, progress=progress)
    total = maps["attribution"].astype(np.float64).sum(("lat", "lon", "channel"))
    change = xr.DataArray(
        output_change(inputs, method), dims=("station", "time"), coords=total.coords
    )
    gap = np.abs(total - change)
    rel = gap / np.abs(change).where(np.abs(change) > 0)
    summed = float(gap.sum() / np.abs(change).sum())
    ds = xr.Dataset(
        {
            "attribution_sum": total.assign_attrs(
                long_name="sum of IG attributions over cells, channels and look-back days"
            ),
            "change": change.assign_attrs(long_name="f(x) - f(baseline), member mean"),
            "relative_error": rel.assign_attrs(long_name="|attribution sum - change| / |change|"),
        },
        attrs={
            "method": method,
            "baseline": METHODS[method].baseline,
            "n_steps": int(n_steps),
            "median_relative_error": float(rel.median()),
            "max_relative_error": float(rel.max()),
            "summed_relative_error": summed,
        },
    )
    return ds


def completeness_attrs(
    inputs: ExperimentInputs, method: str, settings: AttributionSettings
) -> dict[str, float | int]:
    """A run's own completeness check of an IG method's maps, as result attributes:
    ``completeness_gap`` (summed gap), ``completeness_median_gap`` and ``completeness_days``
    on :data:`CHECK_DAYS` target days spread over ``inputs``' targets, at the run's
    ``n_steps``; empty for any other method. A gap above
    :data:`~hydrointerp.experiments.attribution_methods.COMPLETENESS_TOL` marks the maps not
    converged (:func:`hydrointerp.fidelity.bundle.is_converged`)."""
    if method not in IG_METHODS:
        return {}
    days = spread_targets(inputs, CHECK_DAYS)
    gap = ig_completeness(days, settings.n_steps, settings, method=method)
    return {
        "completeness_gap": gap.attrs["summed_relative_error"],
        "completeness_median_gap": gap.attrs["median_relative_error"],
        "completeness_days": len(days.target_times),
    }


def spread_targets(inputs: ExperimentInputs, n: int) -> ExperimentInputs:
    """``inputs`` on ``n`` of its target days spread evenly, the first and last included."""
    targets = inputs.target_indices()
    pick = np.unique(np.linspace(0, len(targets) - 1, n).round().astype(int))
    return with_targets(inputs, targets[pick])
