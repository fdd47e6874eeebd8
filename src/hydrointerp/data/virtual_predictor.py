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
from hydrointerp.data.virtual_hydrology import CellModel, HydroState
from hydrointerp.errors import DataError
from hydrointerp.predictor import NetworkGroup
from hydrointerp.published import LOOKBACK

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
        Targets x simulated cells processed at once (memory bound).
    share_identical
        Simulate a cell of perturbation ``p`` only where its frames differ from those of
        perturbation 0 and copy the rest (exact: identical inputs give identical flow). A
        perturbation sweep that changes a few cells per perturbation then costs about as much
        as one unperturbed run plus the changed cells.
    """

    def __init__(
        self,
        region: xr.Dataset,
        weather_mean: Sequence[float] | np.ndarray | xr.DataArray,
        weather_std: Sequence[float] | np.ndarray | xr.DataArray,
        flow_mean: Sequence[float] | np.ndarray | xr.DataArray,
        flow_std: Sequence[float] | np.ndarray | xr.DataArray,
        lookback: int = LOOKBACK,
        *,
        block_start: str | pd.Timestamp | None = _REGION_START,
        mode: str = "window",
        max_elements: int = 2_000_000,
        share_identical: bool = True,
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
        self.share_identical = bool(share_identical)

    @classmethod
    def from_normaliser(
        cls, region: xr.Dataset, normaliser: object | None, lookback: int = LOOKBACK
    ) -> SimulatorPredictor:
        """A predictor normalised like the networks: with the run's ``normaliser`` (a
        :class:`~hydrointerp.data.windows.Normaliser`)."""
        if normaliser is None:
            raise DataError(
                "the simulator needs the normaliser of the virtual region",
                variable="normaliser.nc",
                expected="normaliser.nc beside region.nc",
                found="none",
            )
        return cls(
            region,
            normaliser.channel_mean,  # type: ignore[attr-defined]
            normaliser.channel_std,  # type: ignore[attr-defined]
            normaliser.flow_mean,  # type: ignore[attr-defined]
            normaliser.flow_std,  # type: ignore[attr-defined]
            lookback,
        )

    @classmethod
    def from_region(
        cls,
        region: xr.Dataset,
        lookback: int = LOOKBACK,
        **kwargs,  # noqa: ANN003
    ) -> SimulatorPredictor:
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

    def network_groups(self) -> tuple[NetworkGroup, ...]:
        """None: the process model has no networks (Predictor contract), so gradient methods,
        cell states and weight randomisation do not apply to it."""
        return ()

    def first_members(self, n: int) -> SimulatorPredictor:
        """The simulator is one member (Predictor contract)."""
        return self

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
        """Normalised frames at the gauged cells: ``[P, D, cell, C]`` (frames' dtype)."""
        x = (
            frames.detach().cpu().numpy()
            if isinstance(frames, torch.Tensor)
            else np.asarray(frames)
        )
        if x.ndim != 5:
            raise DataError(
                "frames must be [P, D, H, W, C]", variable="frames", expected=5, found=x.ndim
            )
        return x[:, :, self.sim.rows, self.sim.cols, :]

    def _physical(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """De-normalised ``(tmax, tmin, precip)`` of normalised ``x[..., C]`` (precip >= 0)."""
        w = x.astype(np.float64) * self.weather_std + self.weather_mean
        w[..., self.precip_channel] = np.maximum(w[..., self.precip_channel], 0.0)
        i_max, i_min, i_p = self.sim.channel_index
        return w[..., i_max], w[..., i_min], w[..., i_p]

    def _instances(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(p, cell)`` pairs to simulate: all cells of perturbation 0, then the cells of other
        perturbations whose frames differ from perturbation 0's (identical frames give
        identical flow, so those are copied)."""
        n_p, n = cells.shape[0], cells.shape[2]
        if self.share_identical and n_p > 1:
            differs = np.any(cells[1:] != cells[:1], axis=(1, 3))
        else:
            differs = np.ones((n_p - 1, n), dtype=bool)
        p_extra, n_extra = np.nonzero(differs)
        return (
            np.concatenate([np.zeros(n, dtype=np.int64), p_extra + 1]),
            np.concatenate([np.arange(n), n_extra]),
        )

    def _scatter(self, runoff: np.ndarray, inst: tuple[np.ndarray, np.ndarray], n_p: int):  # noqa: ANN202
        """``[T, source, instance]`` runoff to ``[P, T, source, cell]``."""
        n = self.sim.n_cells
        full = np.broadcast_to(runoff[..., :n], (n_p, *runoff.shape[:-1], n)).copy()
        if inst[0].size > n:
            full[inst[0][n:], ..., inst[1][n:]] = np.moveaxis(runoff[..., n:], -1, 0)
        return full

    def _start_index(self, block_start: str | pd.Timestamp | None) -> int | None:
        start = self.block_start if block_start == _REGION_START else block_start
        if start is None:
            return None
        return int((pd.Timestamp(start) - self.dates[0]).days)

    def _states(self, days: np.ndarray, cells: np.ndarray) -> HydroState:
        """Unperturbed states at the start of region days ``days``, at instance cells."""
        st = _stack([self.sim.state_at(int(d)) for d in days])
        return HydroState(st.swe[..., cells], st.fast[..., cells], st.slow[..., cells])

    def cell_runoff_block(
        self,
        frames: torch.Tensor | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        block_start: str | pd.Timestamp | None = _REGION_START,
    ) -> np.ndarray:
        """Runoff of every simulated cell before routing, ``[P, len(targets), source, cell]``
        (mm/day; cells in the order of ``self.sim.rows``/``cols``). The gauge flow is this routed
        by :meth:`RegionSimulator.to_flow`, a sum over cells: each cell's share is exact."""
        cells = self._cells(frames)
        t = np.asarray(targets, dtype=np.int64).reshape(-1)
        if t.size == 0:
            return np.zeros((cells.shape[0], 0, 3, self.sim.n_cells))
        return self._cell_runoff(cells, t, block_start)

    def _components(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray, block_start
    ) -> np.ndarray:  # noqa: ANN001
        cells = self._cells(frames)
        t = np.asarray(targets, dtype=np.int64).reshape(-1)
        if t.size == 0:
            return np.zeros((cells.shape[0], 0, len(self.station_ids), 3))
        return self.sim.to_flow(self._cell_runoff(cells, t, block_start))

    def _cell_runoff(self, cells: np.ndarray, t: np.ndarray, block_start) -> np.ndarray:  # noqa: ANN001
        n_days = cells.shape[1]
        if t.size and (t.min() < self.lookback or t.max() > n_days):
            raise DataError(
                "target outside the frames",
                variable="targets",
                expected=f"{self.lookback}..{n_days}",
                found=f"{t.min()}..{t.max()}",
            )
        i0 = self._start_index(block_start)
        inst = self._instances(cells)
        model = self.sim.model.subset(inst[1])
        if self.mode == "continuous":
            runoff = self._continuous(model, cells, inst, t, i0)
        else:
            per = max(1, self.max_elements // inst[0].size)
            runoff = np.concatenate(
                [
                    self._windows(model, cells, inst, t[k : k + per], i0)
                    for k in range(0, t.size, per)
                ]
            )
        return self._scatter(runoff, inst, cells.shape[0])

    def _windows(self, model: CellModel, cells: np.ndarray, inst, t: np.ndarray, i0) -> np.ndarray:  # noqa: ANN001
        p, n, lb = inst[0][None, :], inst[1][None, :], self.lookback

        def forcing(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self._physical(cells[p, (t - lb + k)[:, None], n])

        if i0 is None:
            state = model.spin_up(forcing, lb, (t.size,), inst[0].size)
        else:
            state = self._states(i0 + t - lb, inst[1])
        model.run(forcing, lb, state)
        return model.drain(state)

    def _continuous(
        self, model: CellModel, cells: np.ndarray, inst, t: np.ndarray, i0
    ) -> np.ndarray:  # noqa: ANN001
        first, last = int(t.min()) - self.lookback, int(t.max())

        def forcing(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self._physical(cells[inst[0], first + k, inst[1]])

        if i0 is None:
            state = model.spin_up(forcing, min(365, last - first), (), inst[0].size)
        else:
            state = self._states(np.array([i0 + first]), inst[1])
            state = HydroState(state.swe[0], state.fast[0], state.slow[0])
        drained: dict[int, np.ndarray] = {}
        wanted = set(int(x) for x in t)
        for d in range(first, last + 1):
            if d in wanted:
                drained[d] = model.drain(state)
            if d < last:
                model.step(state, *forcing(d - first))
        return np.stack([drained[int(x)] for x in t])
