"""The LSTM cell states of the networks that Experiment 4 and its controls read.

The probe, the decoding control (:mod:`hydrointerp.fidelity.decoding`) and Experiment 4 itself
record the same states, from the same cluster's networks, on the same windows.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from scipy import stats

from hydrointerp.errors import DataError
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.warming import target_index
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.predictor import network_group


@torch.inference_mode()
def record_cell_states(model: CNNLSTM, window: np.ndarray) -> np.ndarray:
    """Cell states ``[T, units]`` of ``model`` over one window ``[T, H, W, C]`` (zero start)."""
    model.eval()
    x = torch.as_tensor(np.asarray(window, np.float32), device=model.device)
    _, c_seq = model.run_lstm(model.encode_days(x)[None])
    return c_seq[0].cpu().numpy()


def weight_glacier_correlation(
    model: CNNLSTM, glacier_fraction: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson ``(r[units], p[units])`` between each unit's head weights and glacier fraction
    (``keep``: a boolean mask of the output stations that enter the correlation)."""
    w = model.head.weight.detach().cpu().numpy().T  # [units, stations]
    g = np.asarray(glacier_fraction, float)
    if keep is not None and w.shape[1] == len(g):
        w, g = w[:, keep], g[keep]
    if w.shape[1] != len(g):
        raise DataError(
            "the model's outputs do not match the stations' glacier fractions",
            variable="glacier_fraction",
            expected=f"{w.shape[1]} stations",
            found=len(g),
        )
    res = [stats.pearsonr(w[u], g) for u in range(w.shape[0])]
    return np.array([r.statistic for r in res]), np.array([r.pvalue for r in res])


def cluster_members(inputs: ExperimentInputs, cluster: int) -> tuple[list[CNNLSTM], list[str]]:
    """The networks and output stations of one cluster of the inputs' predictor (its network
    group, :func:`~hydrointerp.predictor.network_group`); a bulk ensemble's one group serves
    every cluster."""
    group = network_group(inputs.predictor, cluster)
    return list(group.members), list(group.station_ids)


def last_window(inputs: ExperimentInputs) -> xr.DataArray:
    """The input window of the last target day (the mini year: 2010-12-31 .. 2011-12-30)."""
    t = int(target_index(inputs.frames, inputs.target_times[-1:])[0])
    return inputs.frames.isel(time=slice(t - inputs.lookback, t))
