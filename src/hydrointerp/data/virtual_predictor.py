"""The virtual region's process model as a :class:`~hydrointerp.predictor.Predictor`.

Information set (the network's): the flow of target day ``t`` is computed from the weather of
its window, days ``t - lookback .. t - 1`` of ``frames``, with no forcing on day ``t`` itself
(the reservoirs drain one more day). Storages at the window start come from the unperturbed run
of the region (``block_start`` says which region day ``frames[:, 0]`` is; by default the region's
first day, as :class:`~hydrointerp.experiments.inputs.ExperimentInputs` frames are). With
``block_start=None`` the storages are instead spun up by cycling the window itself
``spinup_cycles`` times from empty. Perturbing weather outside a station's basin changes that
station's flow by exactly zero. See ``docs/virtual_region.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr

from hydrointerp.data.virtual import RegionSimulator
from hydrointerp.data.virtual_hydrology import HydroState
from hydrointerp.errors import DataError

_REGION_START = "region-start"
MODES = ("window", "continuous")


def _stack(states: list[HydroState]) -> HydroState:
    return HydroState(
        np.stack([s.swe for s in states]),
        np.stack([s.fast for s in states]),
        np.stack([s.slow for s in states]),
    )


class SimulatorPredictor:
    """Maps normalised frames to normalised flow with the virtual region's process model.

    Parameters
    ----------
    region
        The virtual region (from :func:`~hydrointerp.data.virtual.generate_region` or its file).
    weather_mean, weather_std
        Per-channel constants (region channel order) that normalised the frames.
    flow_mean, flow_std
        Per-station constants that z-score the output flow.
    lookback
        Window length in days.
    block_start
        Region date of ``frames[:, 0]`` (default: the region's first day); ``None`` spins the
        storages up on each window instead of reading the unperturbed run.
    mode
        ``"window"`` (default): every target restarts at its window start, the network's exact
        information set; cost grows with targets x lookback. ``"continuous"``: one run from the
        first window's start through the last target, so a target also sees earlier frames;
        much cheaper for many targets.
    max_elements
        Batch x targets x cells processed at once (memory bound).
    """

    def __init__(
        self,
        region: xr.Dataset,
        weather_mean: Sequence[float] | np.ndarray | xr.DataArray,
        weather_std: Sequence[float] | np.ndarray | xr.DataArray,
        flow_mean: Sequence[float] | np.ndarray | xr.DataArray,
        flow_std: Sequence[float] | np.ndarray | xr.DataArray,
        lookback: int = 365,
        *,
        block_start: str | pd.Timestamp | None = _REGION_START,
        mode: str = "window",
        max_elements: int = 2_000_000,
    ) -> None:
        if mode not in MODES:
            raise DataError("unknown simulator mode", variable="mode", expected=MODES, found=mode)
        self.sim = RegionSimulator(region)
        self.station_ids = tuple(str(s) for s in region["station"].values)
        self.lookback = int(lookback)
        self.dates = pd.DatetimeIndex(region["time"].values)
        self.weather_mean = np.asarray(weather_mean, dtype=np.float64).reshape(-1)
        self.weather_std = np.asarray(weather_std, dtype=np.float64).reshape(-1)
        self.flow_mean = np.asarray(flow_mean, dtype=np.float64).reshape(-1)
        self.flow_std = np.asarray(flow_std, dtype=np.float64).reshape(-1)
        self.precip_channel = list(map(str, region["channel"].values)).index("precip")
        self.block_start = self.dates[0] if block_start == _REGION_START else block_start
        self.mode = mode
        self.max_elements = int(max_elements)

    @classmethod
    def from_region(cls, region: xr.Dataset, lookback: int = 365, **kwargs) -> SimulatorPredictor:  # noqa: ANN003
        """A predictor normalised with the region's own statistics (all days, all cells)."""
        w = region["weather"].values.astype(np.float64)
        flow = region["flow"].values.astype(np.float64)
        return cls(
            region,
            w.mean(axis=(0, 1, 2)),
            w.std(axis=(0, 1, 2)),
            np.nanmean(flow, axis=0),
            np.nanstd(flow, axis=0),
            lookback,
            **kwargs,
        )

    def normalise_weather(self, weather: np.ndarray) -> np.ndarray:
        """Physical ``[..., channel]`` weather to the normalised frames this predictor reads."""
        return ((np.asarray(weather, np.float64) - self.weather_mean) / self.weather_std).astype(
            np.float32
        )

    def predict_block(
        self,
        frames: torch.Tensor | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        block_start: str | pd.Timestamp | None = _REGION_START,
    ) -> torch.Tensor:
        """Normalised flow ``[P, len(targets), station]`` for ``frames[P, D, H, W, C]``."""
        total = self._components(frames, targets, block_start).sum(axis=-1)
        z = (total - self.flow_mean) / self.flow_std
        return torch.from_numpy(z.astype(np.float32))

    def component_predict_block(
        self,
        frames: torch.Tensor | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        block_start: str | pd.Timestamp | None = _REGION_START,
    ) -> torch.Tensor:
        """Flow by source ``[P, len(targets), station, component]`` in m3/s (not normalised)."""
        return torch.from_numpy(self._components(frames, targets, block_start).astype(np.float32))

    # ------------------------------------------------------------------ internals
    def _cells(self, frames: torch.Tensor | np.ndarray) -> np.ndarray:
        x = (
            frames.detach().cpu().numpy()
            if isinstance(frames, torch.Tensor)
            else np.asarray(frames)
        )
        if x.ndim != 5:
            raise DataError(
                "frames must be [P, D, H, W, C]", variable="frames", expected=5, found=x.ndim
            )
        w = x[:, :, self.sim.rows, self.sim.cols, :].astype(np.float64)
        w = w * self.weather_std + self.weather_mean
        w[..., self.precip_channel] = np.maximum(w[..., self.precip_channel], 0.0)
        return w[..., self.sim.channel_index]

    def _start_index(self, block_start: str | pd.Timestamp | None) -> int | None:
        start = self.block_start if block_start == _REGION_START else block_start
        if start is None:
            return None
        return int((pd.Timestamp(start) - self.dates[0]).days)

    def _components(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray, block_start
    ) -> np.ndarray:  # noqa: ANN001
        cells = self._cells(frames)
        t = np.asarray(targets, dtype=np.int64).reshape(-1)
        n_days = cells.shape[1]
        if t.size and (t.min() < self.lookback or t.max() > n_days):
            raise DataError(
                "target outside the frames",
                variable="targets",
                expected=f"{self.lookback}..{n_days}",
                found=f"{t.min()}..{t.max()}",
            )
        i0 = self._start_index(block_start)
        if self.mode == "continuous":
            return self._continuous(cells, t, i0)
        per = max(1, self.max_elements // max(1, cells.shape[0] * self.sim.n_cells))
        parts = [self._windows(cells, t[k : k + per], i0) for k in range(0, t.size, per)]
        return np.concatenate(parts, axis=1) if parts else self._empty(cells)

    def _empty(self, cells: np.ndarray) -> np.ndarray:
        return np.zeros((cells.shape[0], 0, len(self.station_ids), 3))

    def _windows(self, cells: np.ndarray, t: np.ndarray, i0: int | None) -> np.ndarray:
        n_p, lb, model = cells.shape[0], self.lookback, self.sim.model

        def forcing(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            w = cells[:, t - lb + k]
            return w[..., 0], w[..., 1], w[..., 2]

        if i0 is None:
            state = model.spin_up(forcing, lb, (n_p, t.size), self.sim.n_cells)
        else:
            state = _stack([self.sim.state_at(i0 + int(s)) for s in t - lb]).broadcast(
                (n_p, t.size)
            )
        model.run(forcing, lb, state)
        return self.sim.to_flow(model.drain(state))

    def _continuous(self, cells: np.ndarray, t: np.ndarray, i0: int | None) -> np.ndarray:
        if t.size == 0:
            return self._empty(cells)
        first, last, model = int(t.min()) - self.lookback, int(t.max()), self.sim.model
        forcing = self.sim.forcing(cells, offset=first)
        if i0 is None:
            n = min(365, last - first)
            state = model.spin_up(forcing, n, (cells.shape[0],), self.sim.n_cells)
        else:
            state = self.sim.state_at(i0 + first).broadcast((cells.shape[0],))
        drained: dict[int, np.ndarray] = {}
        wanted = set(int(x) for x in t)
        for d in range(first, last + 1):
            if d in wanted:
                drained[d] = self.sim.to_flow(model.drain(state))
            if d < last:
                model.step(state, *forcing(d - first))
        return np.stack([drained[int(x)] for x in t], axis=1)
