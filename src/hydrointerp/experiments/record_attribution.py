"""Record-level attributions: cells replaced on every day of the record at once.

Occlusion of cells (Captum ``Occlusion``), ablation of basins (``FeatureAblation``), RISE-style
binary masks and the published Gaussian perturbation all change the inputs of a cell on *every*
look-back day. Changing it on every day of the record at once and reading each target's window
from that one copy is exactly the per-window change, and the perturbation engine then encodes
each changed day once for all target days and stations (:class:`GatedRecord`). Only
``predict_block`` is needed, so these methods also run on the virtual region's simulator.
The registry and the map layout are in :mod:`hydrointerp.experiments.attribution_methods`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr
from captum.attr import FeatureAblation, Occlusion

from hydrointerp.errors import DataError
from hydrointerp.experiments.attribution_methods import AttributionSettings
from hydrointerp.experiments.daily_sweep import daily_maps
from hydrointerp.experiments.drivers import anomalies
from hydrointerp.experiments.engine import PerturbationEngine
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.perturbation import Perturbation


def climatology_record(inputs: ExperimentInputs) -> np.ndarray:
    """``[D, H, W, C]``: every input day replaced by the day-of-year mean of the input days."""
    frames = inputs.frames
    return np.asarray((frames - anomalies(frames)).values, dtype=np.float32)


class GatedRecord:
    """Member-mean predictions of the record with cells gated towards a baseline.

    ``gate[P, H, W, G]`` (1 keeps a cell's value, 0 replaces it by the baseline, on every day
    and every channel of group ``g``) -> ``y[P, T, S]`` for the target days of ``inputs``.
    """

    def __init__(
        self, inputs: ExperimentInputs, groups: Sequence[Sequence[int]], baseline: np.ndarray
    ) -> None:
        self.frames = torch.as_tensor(inputs.frames_array())
        self.baseline = torch.as_tensor(baseline, dtype=torch.float32)
        self.groups = [list(g) for g in groups]
        self.targets = inputs.target_indices()
        start = pd.Timestamp(inputs.frames["time"].values[0])
        self.engine = PerturbationEngine(inputs.predictor, self.frames, inputs.lookback, start)

    def __call__(self, gate: torch.Tensor) -> torch.Tensor:
        """The gated predictions ``[P, T, S]`` (float64)."""
        full = torch.ones(gate.shape[0], 1, *self.frames.shape[1:])
        for g, chans in enumerate(self.groups):
            full[:, 0][..., chans] = gate[..., g : g + 1].float()
        x = self.baseline + (self.frames - self.baseline) * full
        return self.engine.predict(x, self.targets).mean(0).double()


def ablation_baseline(inputs: ExperimentInputs, s: AttributionSettings) -> np.ndarray:
    """``[D, H, W, C]`` values of occluded/masked cells: zeros or the climatology record."""
    if s.ablation_baseline == "climatology":
        return climatology_record(inputs)
    return np.zeros(inputs.frames.shape, dtype=np.float32)


def basin_partition(stations: xr.Dataset, source: str = "basin_mask") -> np.ndarray:
    """``[H, W]`` feature label per cell: 0 outside every basin, else ``1 + k`` for the
    smallest basin ``k`` (station order) covering the cell (nested basins are split)."""
    if source not in stations:
        raise DataError(
            "basin ablation needs the stations' basins",
            variable=source,
            expected="basin_mask(station, lat, lon) (a region.nc) or basin_source='in_near'",
            found=sorted(stations.data_vars),
        )
    mask = np.asarray(stations[source].transpose("station", "lat", "lon").values) > 0
    labels = np.zeros(mask.shape[1:], dtype=np.int64)
    for k in np.argsort(-mask.sum(axis=(1, 2)), kind="stable"):
        labels[mask[k]] = k + 1
    return labels


def ablation_maps(
    inputs: ExperimentInputs, method: str, s: AttributionSettings, groups: Sequence[Sequence[int]]
) -> np.ndarray:
    """``occlusion`` (Captum ``Occlusion``) or ``basin_ablation`` (``FeatureAblation``) maps
    ``[S, T, H, W, G]``: the output change when cells are gated to the baseline."""
    gated = GatedRecord(inputs, groups, ablation_baseline(inputs, s))
    n_t, n_st = len(gated.targets), inputs.stations.sizes["station"]
    h, w = gated.frames.shape[1:3]
    ones = torch.ones(1, h, w, len(groups), dtype=torch.float64)

    def forward(gate: torch.Tensor) -> torch.Tensor:
        return gated(gate).reshape(-1)  # fixed-size output: Captum's aggregation mode

    if method == "occlusion":
        k = s.occlusion_size
        attr = Occlusion(forward).attribute(
            ones, sliding_window_shapes=(k, k, 1), strides=(1, 1, 1), baselines=0.0
        )
    else:
        labels = basin_partition(inputs.stations, s.basin_source)
        feature = labels[:, :, None] * len(groups) + np.arange(len(groups))
        attr = FeatureAblation(forward).attribute(
            ones, baselines=0.0, feature_mask=torch.as_tensor(feature)[None]
        )
    attr = attr.reshape(n_t, n_st, h, w, len(groups)).numpy()
    return attr.transpose(1, 0, 2, 3, 4)


def rise_masks(
    rng: np.random.Generator, n: int, shape: tuple[int, int], n_groups: int, keep: float, cell: int
) -> np.ndarray:
    """``[n, H, W, G]`` binary masks: blocks of ``cell`` cells kept with probability ``keep``,
    shifted by a random offset (independent per mask and group)."""
    h, w = shape
    bh, bw = -(-h // cell) + 1, -(-w // cell) + 1
    coarse = rng.random((n, n_groups, bh, bw)) < keep
    fine = coarse.repeat(cell, axis=2).repeat(cell, axis=3)
    dy = rng.integers(0, cell, size=(n, n_groups))
    dx = rng.integers(0, cell, size=(n, n_groups))
    out = np.empty((n, n_groups, h, w), dtype=np.float32)
    for i in range(n):
        for g in range(n_groups):
            out[i, g] = fine[i, g, dy[i, g] : dy[i, g] + h, dx[i, g] : dx[i, g] + w]
    return out.transpose(0, 2, 3, 1)


def rise_maps(
    inputs: ExperimentInputs, s: AttributionSettings, groups: Sequence[Sequence[int]], bar: Any
) -> np.ndarray:
    """Centred RISE: ``sum_i (y_i - mean y) M_i / (N keep_prob)`` (a covariance, so that a
    linear model gives ``(1 - keep_prob)`` times the cell's occlusion value)."""
    gated = GatedRecord(inputs, groups, ablation_baseline(inputs, s))
    rng = np.random.default_rng(s.seed)
    h, w = gated.frames.shape[1:3]
    masks, ys = [], []
    for a in range(0, s.n_masks, s.mask_chunk):
        m = rise_masks(
            rng, min(s.mask_chunk, s.n_masks - a), (h, w), len(groups), s.keep_prob, s.rise_cell
        )
        ys.append(gated(torch.from_numpy(m)))
        masks.append(torch.from_numpy(m).double())
        bar.update(m.shape[0])
    y, m = torch.cat(ys), torch.cat(masks)
    est = torch.einsum("nts,nhwg->sthwg", y - y.mean(0), m) / (s.n_masks * s.keep_prob)
    return est.numpy()


def perturbation_maps(
    inputs: ExperimentInputs, groups: Sequence[Sequence[int]], heat: Any, progress: bool
) -> np.ndarray:
    """The published Gaussian perturbation (Experiment 1's ``daily_maps``), one map per group."""
    heat = heat or Perturbation()
    maps = []
    for g in groups:
        da, _ = daily_maps(inputs, heat.on_channels(tuple(g)), progress=progress)
        maps.append(da.transpose("station", "time", "lat", "lon").values)
    return np.stack(maps, axis=-1)
