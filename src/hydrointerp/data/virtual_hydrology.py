"""Daily hydrology of the virtual region, vectorised over cells and any leading batch axes.

Per cell and day (order of operations):

1. Outflow: each source's fast and slow linear reservoir releases ``k * S`` from the storage at
   the start of the day, so the runoff of day ``d`` depends on weather up to day ``d - 1`` only.
2. Rain/snow split by the daily mean temperature (linear between ``t_snow_c`` and ``t_rain_c``).
3. Snowpack: snowfall accumulates; degree-day melt ``ddf_snow * max(T - t_melt, 0)`` limited by
   the pack; on glacier cells SWE above ``snow_cap_mm`` turns into firn (joins the ice).
4. Glacier melt ``glacier * ddf_ice * max(T - t_melt, 0)`` once the cell is snow-free (ice is
   unlimited and counts as a negative storage change).
5. Each source's water (rain, snowmelt, glacier melt) enters its own fast (``1 - slow_share``)
   and slow (``slow_share``) reservoir.
6. Evaporation ``min(pet * max(T, 0), fast storage)`` is taken from the fast reservoirs in
   proportion to their content.

The three sources never mix, so their runoffs sum exactly to the total.

The parameters named in :data:`CELL_PARAMS` may differ per cell (the twin calibrates them per
gauge; ``pet_mm_per_k`` and ``t_rain_c`` default to the config's values); ``t_offset_k`` shifts
the temperature the processes see (sub-grid elevation), 0 unless given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hydrointerp.data.virtual_config import VirtualRegionConfig

KELVIN = 273.15
N_SOURCES = 3  # rain, snowmelt, glacier_melt
Forcing = Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: Parameters that may be given per cell (``CellModel(params=...)``); defaults from the config.
CELL_PARAMS: tuple[str, ...] = (
    "t_offset_k",
    "ddf_snow_mm_per_k",
    "fast_rate_per_day",
    "slow_rate_per_day",
    "slow_share",
    "pet_mm_per_k",
    "t_rain_c",
)


@dataclass
class HydroState:
    """Storages (mm) at the start of a day.

    ``swe[..., cell]``, ``fast[..., source, cell]`` and ``slow[..., source, cell]``.
    """

    swe: np.ndarray
    fast: np.ndarray
    slow: np.ndarray

    @classmethod
    def empty(cls, batch: tuple[int, ...], n_cell: int) -> HydroState:
        """All storages zero."""
        return cls(
            np.zeros((*batch, n_cell)),
            np.zeros((*batch, N_SOURCES, n_cell)),
            np.zeros((*batch, N_SOURCES, n_cell)),
        )

    def broadcast(self, batch: tuple[int, ...]) -> HydroState:
        """The same state repeated (as copies) over leading ``batch`` axes."""
        return HydroState(
            np.broadcast_to(self.swe, (*batch, *self.swe.shape[-1:])).copy(),
            np.broadcast_to(self.fast, (*batch, *self.fast.shape[-2:])).copy(),
            np.broadcast_to(self.slow, (*batch, *self.slow.shape[-2:])).copy(),
        )

    def copy(self) -> HydroState:
        """A deep copy."""
        return HydroState(self.swe.copy(), self.fast.copy(), self.slow.copy())

    def total(self) -> np.ndarray:
        """Water held (mm) per cell: snow plus all reservoirs."""
        return self.swe + self.fast.sum(axis=-2) + self.slow.sum(axis=-2)


@dataclass
class Diagnostics:
    """Running totals (mm per cell) of the fluxes a water balance needs."""

    precip: np.ndarray
    evaporation: np.ndarray
    runoff: np.ndarray
    glacier_melt: np.ndarray
    firn: np.ndarray


class CellModel:
    """The per-cell process model with the parameters of one region.

    ``params`` maps names of :data:`CELL_PARAMS` to per-cell arrays (shape of ``glacier``);
    the others come from ``cfg`` (``t_offset_k``: 0).
    """

    def __init__(
        self,
        cfg: VirtualRegionConfig,
        glacier: np.ndarray,
        params: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.cfg = cfg
        self.glacier = np.asarray(glacier, dtype=np.float64)
        given = dict(params or {})
        unknown = set(given) - set(CELL_PARAMS)
        if unknown:
            raise ValueError(f"unknown cell parameters {sorted(unknown)}; known {CELL_PARAMS}")
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in given.items()}
        self.t_offset = self.params.get("t_offset_k", 0.0)
        self.ddf_snow = self.params.get("ddf_snow_mm_per_k", cfg.ddf_snow_mm_per_k)
        self.fast_rate = self.params.get("fast_rate_per_day", cfg.fast_rate_per_day)
        self.slow_rate = self.params.get("slow_rate_per_day", cfg.slow_rate_per_day)
        self.slow_share = self.params.get("slow_share", cfg.slow_share)
        self.pet = self.params.get("pet_mm_per_k", cfg.pet_mm_per_k)
        self.t_rain = self.params.get("t_rain_c", cfg.t_rain_c)

    def subset(self, cells: np.ndarray) -> CellModel:
        """The model of the cells ``cells`` (indices) only."""
        return CellModel(
            self.cfg, self.glacier[cells], {k: v[cells] for k, v in self.params.items()}
        )

    def step(
        self,
        state: HydroState,
        tmax: np.ndarray,
        tmin: np.ndarray,
        precip: np.ndarray,
        diag: Diagnostics | None = None,
    ) -> np.ndarray:
        """Advance ``state`` one day in place; return the day's runoff ``[..., source, cell]``."""
        c = self.cfg
        out_fast = self.fast_rate * state.fast
        out_slow = self.slow_rate * state.slow
        state.fast -= out_fast
        state.slow -= out_slow
        runoff = out_fast + out_slow
        temp = 0.5 * (tmax + tmin) - KELVIN + self.t_offset
        snow_share = np.clip((self.t_rain - temp) / (self.t_rain - c.t_snow_c), 0.0, 1.0)
        snowfall = precip * snow_share
        rain = precip - snowfall
        state.swe += snowfall
        degree_days = np.maximum(temp - c.t_melt_c, 0.0)
        melt = np.minimum(state.swe, self.ddf_snow * degree_days)
        state.swe -= melt
        ice = np.where(state.swe <= 0.0, self.glacier * c.ddf_ice_mm_per_k * degree_days, 0.0)
        firn = np.where(self.glacier > 0.0, np.maximum(state.swe - c.snow_cap_mm, 0.0), 0.0)
        state.swe -= firn
        water = np.stack([rain, melt, ice], axis=-2)
        state.fast += (1.0 - self.slow_share) * water
        state.slow += self.slow_share * water
        held = state.fast.sum(axis=-2)
        evap = np.minimum(self.pet * np.maximum(temp, 0.0), held)
        keep = np.where(held > 0.0, 1.0 - evap / np.where(held > 0.0, held, 1.0), 1.0)
        state.fast *= keep[..., None, :]
        if diag is not None:
            diag.precip += precip
            diag.evaporation += evap
            diag.runoff += runoff.sum(axis=-2)
            diag.glacier_melt += ice
            diag.firn += firn
        return runoff

    def run(
        self,
        forcing: Forcing,
        n_days: int,
        state: HydroState,
        diag: Diagnostics | None = None,
        keep_states: bool = False,
    ) -> tuple[list[np.ndarray], list[HydroState]]:
        """Run ``n_days`` from ``state`` (changed in place).

        ``forcing(d)`` returns ``(tmax, tmin, precip)`` for day ``d``, each ``[..., cell]``.
        Returns the daily runoff ``[..., source, cell]`` (mm/day) and, with ``keep_states``,
        the state at the start of every day plus the final one.
        """
        runoffs: list[np.ndarray] = []
        states: list[HydroState] = []
        for d in range(n_days):
            if keep_states:
                states.append(state.copy())
            runoffs.append(self.step(state, *forcing(d), diag=diag))
        if keep_states:
            states.append(state.copy())
        return runoffs, states

    def drain(self, state: HydroState) -> np.ndarray:
        """Runoff of the next day from ``state`` alone (no forcing): ``[..., source, cell]``."""
        return self.fast_rate * state.fast + self.slow_rate * state.slow

    def spin_up(
        self, forcing: Forcing, n_days: int, batch: tuple[int, ...], n_cell: int
    ) -> HydroState:
        """Storages after ``cfg.spinup_cycles`` passes of the given days from empty."""
        state = HydroState.empty(batch, n_cell)
        for _ in range(self.cfg.spinup_cycles):
            self.run(forcing, n_days, state)
        return state
