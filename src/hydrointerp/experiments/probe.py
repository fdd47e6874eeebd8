"""A linear probe of LSTM cell states against the true glacier-melt component (virtual region).

Beyond the paper: where glacier melt is known, regress each cell state on it and report R² for
the units Experiment 4 selects (head weights correlated with glacier fraction) against a baseline
of randomly drawn units of the same count. If the selected units carry glacier runoff, their
mean R² should exceed the random units'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.experiments.curves import residual
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.lstm_states import (
    cluster_members,
    last_window,
    record_cell_states,
    weight_glacier_correlation,
)
from hydrointerp.fidelity.truth import glacial_melt
from hydrointerp.models.cnn_lstm import CNNLSTM


def r_squared(states: np.ndarray, target: np.ndarray) -> np.ndarray:
    """R² of the univariate least-squares fit of each row of ``states[n, T]`` on ``target[T]``
    (equals the squared Pearson correlation; constant rows give 0)."""
    x = states - states.mean(axis=-1, keepdims=True)
    y = np.asarray(target, float) - np.mean(target)
    sx = np.sqrt((x**2).sum(axis=-1))
    sy = np.sqrt((y**2).sum())
    r = (x @ y) / np.where(sx > 0, sx * sy, np.inf)
    return r**2


def probe_experiment(
    members: Sequence[CNNLSTM],
    window: xr.DataArray,
    glacier_fraction: xr.DataArray,
    glacier_melt: xr.DataArray,
    p_threshold: float = 0.05,
    n_draws: int = 1000,
    seed: int = 0,
    seasonal_window: int = 30,
) -> xr.Dataset:
    """Probe every unit's cell state for the true glacier melt.

    Parameters
    ----------
    members
        Models whose heads output the stations of ``glacier_fraction`` (in that order).
    window
        Normalised input days ``(time, lat, lon, channel)``.
    glacier_fraction
        ``(station)`` glacier fraction of the models' output stations.
    glacier_melt
        ``(time)`` true glacier-melt signal on the window's days (e.g.
        :func:`hydrointerp.fidelity.truth.glacial_melt`).
    p_threshold, n_draws, seed
        Unit selection threshold; random-baseline draws and their seed.
    seasonal_window
        Centred rolling-mean window for the deseasonalised R² (``r2_residual``): the raw R² of
        any seasonal state is high, the residual one shows day-to-day melt tracking.

    Returns
    -------
    xarray.Dataset
        ``r2(member, unit)``, ``r2_residual``, ``selected(member, unit)``,
        ``random_mean_r2(draw)`` and attributes ``mean_r2_selected``, ``mean_r2_random``,
        ``p_value`` (share of random draws at least as high as the selected mean),
        ``n_selected_units``, ``mean_r2_residual_selected``, ``mean_r2_residual_all``.
    """
    melt = glacier_melt.sel(time=window["time"].values).values
    if not np.isfinite(melt).all():
        raise DataError(
            "glacier melt missing on window days",
            variable="glacier_melt",
            expected="finite values",
            found=int((~np.isfinite(melt)).sum()),
        )
    melt_res = residual(melt, seasonal_window)
    r2, r2_res, sel = [], [], []
    for model in members:
        states = record_cell_states(model, window.values).T
        r2.append(r_squared(states, melt))
        res = np.stack([residual(s, seasonal_window) for s in states])
        r2_res.append(r_squared(res, melt_res))
        _, p = weight_glacier_correlation(model, glacier_fraction.values)
        sel.append(p < p_threshold)
    r2_arr, selected = np.stack(r2), np.stack(sel)
    r2_res_arr = np.stack(r2_res)
    n_sel = int(selected.sum())
    flat = r2_arr.ravel()
    rng = np.random.default_rng(seed)
    k = max(n_sel, 1)
    draws = rng.random((n_draws, flat.size)).argsort(axis=1)[:, :k]
    random_mean = flat[draws].mean(axis=1)
    mean_sel = float(flat[selected.ravel()].mean()) if n_sel else float("nan")
    ds = xr.Dataset(
        {
            "r2": (("member", "unit"), r2_arr, {"long_name": "R2 of cell state on glacier melt"}),
            "r2_residual": (
                ("member", "unit"),
                r2_res_arr,
                {"long_name": "R2 of the deseasonalised state on deseasonalised melt"},
            ),
            "selected": (("member", "unit"), selected),
            "random_mean_r2": (
                "draw",
                random_mean,
                {"long_name": "mean R2 of randomly drawn units"},
            ),
        },
        coords={"member": np.arange(len(members)), "unit": np.arange(r2_arr.shape[1])},
    )
    ds.attrs.update(
        experiment="probe",
        n_selected_units=n_sel,
        mean_r2_selected=mean_sel,
        mean_r2_random=float(random_mean.mean()),
        p_value=float((1 + (random_mean >= mean_sel).sum()) / (n_draws + 1)) if n_sel else 1.0,
        p_threshold=p_threshold,
        mean_r2_residual_selected=float(r2_res_arr[selected].mean()) if n_sel else float("nan"),
        mean_r2_residual_all=float(r2_res_arr.mean()),
        seasonal_window=seasonal_window,
    )
    return ds


def probe_from_inputs(
    inputs: ExperimentInputs, region: xr.Dataset, cluster: int = 0, p_threshold: float = 0.05
) -> xr.Dataset:
    """:func:`probe_experiment` for one cluster of the inputs' ensemble on a virtual region
    (``region`` must carry ``flow_component``); the target is the glacial stations' mean
    z-scored true glacier melt on each window day."""
    members, ids = cluster_members(inputs, cluster)
    window = last_window(inputs)
    melt = glacial_melt(region)
    ds = probe_experiment(
        members, window, inputs.stations["glacier_fraction"].sel(station=ids), melt, p_threshold
    )
    ds.attrs["cluster"] = int(cluster)
    return ds
