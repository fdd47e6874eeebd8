"""The virtual region: a process simulator of a synthetic southwestern Canada with known truth.

:func:`generate_region` builds terrain, weather, gauged basins and flow into a validated
RegionData that also stores the truth (flow by water source, regime, glacier cover, elevation).
:func:`simulate` reruns the process model on any (e.g. perturbed) weather of that region, and
:class:`~hydrointerp.data.virtual_predictor.SimulatorPredictor` wraps it as a
:class:`~hydrointerp.predictor.Predictor`.
See ``docs/virtual_region.md``.

Example
-------
>>> from hydrointerp.data.virtual import VirtualRegionConfig, generate_region
>>> region = generate_region(VirtualRegionConfig(seed=1, n_years=2, n_stations=8))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.region import add_cf_attrs, make_region, validate
from hydrointerp.data.virtual_config import COMPONENTS, REGIMES, VirtualRegionConfig
from hydrointerp.data.virtual_hydrology import CellModel, Diagnostics, HydroState
from hydrointerp.data.virtual_terrain import (
    EARTH_KM_PER_DEG,
    Stations,
    Terrain,
    choose_stations,
    make_terrain,
)
from hydrointerp.data.virtual_weather import make_weather, record_dates
from hydrointerp.errors import DataError
from hydrointerp.published import CHANNELS

MM_DAY_KM2_TO_M3S = 1e3 / 86400.0  # (mm/day) * km2 -> m3/s

__all__ = [
    "COMPONENTS",
    "REGIMES",
    "HydroState",
    "RegionSimulator",
    "VirtualRegionConfig",
    "generate_region",
    "simulate",
    "state_at",
    "water_balance",
]


def region_config(region: xr.Dataset) -> VirtualRegionConfig:
    """The settings a virtual region was generated with (``attrs['virtual_config']``)."""
    text = region.attrs.get("virtual_config")
    if not text:
        raise DataError(
            "not a virtual region", variable="attrs.virtual_config", expected="JSON", found="none"
        )
    return VirtualRegionConfig.from_json(str(text))


class RegionSimulator:
    """The process model of one virtual region, restricted to its gauged cells.

    A region with ``hydro_param(station, param)`` (the twin) runs one unit per station and
    basin cell with that station's parameters and glacier fraction; the "cells" below are then
    those units.

    Parameters
    ----------
    region
        A region made by :func:`generate_region` (or loaded from its file).
    """

    def __init__(self, region: xr.Dataset) -> None:
        self.config = region_config(region)
        mask = region["basin_mask"].values.astype(np.float64)
        params: dict[str, np.ndarray] = {}
        if "hydro_param" in region:  # per-station parameters: one unit per (station, cell)
            station, self.rows, self.cols = np.nonzero(mask > 0)
            table = region["hydro_param"].transpose("station", "param")
            params = {str(k): table.values[station, i] for i, k in enumerate(table["param"].values)}
            basin = np.zeros((mask.shape[0], station.size))
            basin[station, np.arange(station.size)] = mask[station, self.rows, self.cols]
            glacier = region["glacier_fraction"].values[station]
        else:
            self.rows, self.cols = np.nonzero(mask.sum(axis=0) > 0)
            basin = mask[:, self.rows, self.cols]
            glacier = region["glacier_cell_fraction"].values[self.rows, self.cols]
        self.model = CellModel(self.config, glacier, params)
        lat = region["lat"].values[self.rows]
        area = (self.config.resolution * EARTH_KM_PER_DEG) ** 2 * np.cos(np.deg2rad(lat))
        self.cell_area_km2 = area
        self.basin = basin  # [station, cell (or unit)]
        self.weights = (basin * area * MM_DAY_KM2_TO_M3S).T.copy()  # [cell, station] m3/s
        self.channel_index = [list(map(str, region["channel"].values)).index(c) for c in CHANNELS]
        self.weather = region["weather"].values
        self.n_days = region.sizes["time"]
        self._states: list[HydroState] | None = None

    @property
    def n_cells(self) -> int:
        """Number of cells inside at least one basin."""
        return int(self.rows.size)

    def cells(self, weather: np.ndarray) -> np.ndarray:
        """``[..., time, cell, (tmax, tmin, precip)]`` float64 of ``[..., time, lat, lon, ch]``."""
        w = np.asarray(weather)[..., self.rows, self.cols, :]
        return w[..., self.channel_index].astype(np.float64)

    def forcing(self, cells: np.ndarray, offset: int = 0):  # noqa: ANN201 - a Forcing callable
        """The forcing callable of :meth:`CellModel.run` for ``cells[..., time, cell, ch]``."""

        def day(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            w = cells[..., offset + d, :, :]
            return w[..., 0], w[..., 1], w[..., 2]

        return day

    def to_flow(self, runoff: np.ndarray) -> np.ndarray:
        """``[..., source, cell]`` runoff (mm/day) to ``[..., station, component]`` (m3/s)."""
        return np.swapaxes(runoff @ self.weights, -1, -2)

    def initial_state(self, cells: np.ndarray) -> HydroState:
        """Storages after cycling the first year (or all days, if fewer) of ``cells``."""
        n = min(365, cells.shape[-3])
        return self.model.spin_up(self.forcing(cells), n, cells.shape[:-3], self.n_cells)

    def run(
        self,
        weather: np.ndarray,
        initial_state: HydroState | None = None,
        diag: Diagnostics | None = None,
    ) -> tuple[np.ndarray, HydroState]:
        """Flow ``[..., time, station, component]`` (m3/s) and the final state."""
        cells = self.cells(weather)
        state = self.initial_state(cells) if initial_state is None else initial_state.copy()
        runoffs, _ = self.model.run(self.forcing(cells), cells.shape[-3], state, diag=diag)
        return self.to_flow(np.stack(runoffs, axis=-3)), state

    def states(self) -> list[HydroState]:
        """The unperturbed run's state at the start of every day (and after the last one)."""
        if self._states is None:
            cells = self.cells(self.weather)
            state = self.initial_state(cells)
            _, self._states = self.model.run(
                self.forcing(cells), self.n_days, state, keep_states=True
            )
        return self._states

    def state_at(self, day: int) -> HydroState:
        """State at the start of day index ``day`` (0..n_days) of the unperturbed run."""
        if not 0 <= day <= self.n_days:
            raise DataError(
                "day outside the region's record",
                variable="time",
                expected=f"0..{self.n_days}",
                found=day,
            )
        return self.states()[day].copy()


def simulate(
    region: xr.Dataset, weather: np.ndarray, initial_state: HydroState | None = None
) -> np.ndarray:
    """Flow by source for any weather of ``region``.

    Parameters
    ----------
    region
        A virtual region (its basins, glaciers and settings are used).
    weather
        ``[..., time, lat, lon, channel]`` in physical units (K, mm/day), channels in the
        region's order; leading axes are a batch.
    initial_state
        Storages at the start of the first day; default: cycle the first year
        ``spinup_cycles`` times from empty (as :func:`generate_region` does).

    Returns
    -------
    numpy.ndarray
        ``[..., time, station, component]`` in m3/s; components ``rain``, ``snowmelt``,
        ``glacier_melt`` sum to the total flow.
    """
    return RegionSimulator(region).run(weather, initial_state)[0]


def state_at(region: xr.Dataset, day: int | str | pd.Timestamp) -> HydroState:
    """State of the unperturbed run at the start of ``day`` (index or date)."""
    if not isinstance(day, (int, np.integer)):
        day = int((pd.Timestamp(day) - pd.Timestamp(region["time"].values[0])).days)
    return RegionSimulator(region).state_at(int(day))


def water_balance(region: xr.Dataset) -> xr.Dataset:
    """Basin water balance over the whole record (mm over the basin area).

    Returns ``precip``, ``flow``, ``evaporation``, ``storage_change`` (snow and reservoirs),
    ``ice_change`` (firn gained minus glacier melt) and ``residual`` = precip - flow -
    evaporation - storage_change - ice_change, each on ``station``.
    """
    sim = RegionSimulator(region)
    cells = sim.cells(sim.weather)
    start = sim.initial_state(cells)
    zeros = np.zeros(sim.n_cells)
    diag = Diagnostics(*(zeros.copy() for _ in range(5)))
    _, end = sim.run(sim.weather, start, diag=diag)
    w = sim.basin * sim.cell_area_km2
    w = w / w.sum(axis=1, keepdims=True)
    values = {
        "precip": w @ diag.precip,
        "flow": w @ diag.runoff,
        "evaporation": w @ diag.evaporation,
        "storage_change": w @ (end.total() - start.total()),
        "ice_change": w @ (diag.firn - diag.glacier_melt),
    }
    values["residual"] = values["precip"] - sum(v for k, v in values.items() if k != "precip")
    coords = {"station": region["station"].values}
    return xr.Dataset(
        {k: ("station", v, {"units": "mm"}) for k, v in values.items()}, coords=coords
    )


def _observed(total: np.ndarray, cfg: VirtualRegionConfig, rng: np.random.Generator) -> np.ndarray:
    """Total flow with optional log-normal noise and missing-data gaps (NaN)."""
    flow = total.copy()
    if cfg.noise_sd > 0:
        z = rng.standard_normal(flow.shape)
        flow *= np.exp(cfg.noise_sd * z - 0.5 * cfg.noise_sd**2)
    n_days = flow.shape[0]
    target = int(round(cfg.missing_fraction * n_days))
    for s in range(flow.shape[1] if target else 0):
        gone = np.zeros(n_days, dtype=bool)
        while gone.sum() < target:
            length = min(int(rng.geometric(1.0 / cfg.missing_gap_days)), target - int(gone.sum()))
            start = int(rng.integers(0, n_days - length + 1))
            gone[start : start + length] = True
        flow[gone, s] = np.nan
    return flow


def _truth(
    ds: xr.Dataset, terrain: Terrain, stations: Stations, components: np.ndarray
) -> xr.Dataset:
    ds["flow_component"] = (("time", "station", "component"), components.astype(np.float32))
    ds = ds.assign_coords(component=list(COMPONENTS))
    ds["regime"] = ("station", stations.regime.astype(str).astype(object))
    ds["regime"].attrs.update(long_name="flow regime (truth)", flag_values=" ".join(REGIMES))
    ds["elevation"] = (("lat", "lon"), terrain.elevation.astype(np.float32), {"units": "m"})
    ds["glacier_cell_fraction"] = (
        ("lat", "lon"),
        terrain.glacier.astype(np.float32),
        {"units": "1", "long_name": "glacier-covered fraction of the cell"},
    )
    ds["land"] = (("lat", "lon"), terrain.land.astype(np.int8), {"long_name": "land (1) or sea"})
    ds = ds.assign_coords(elevation_m=("station", stations.elevation_m))
    ds["elevation_m"].attrs.update(units="m", long_name="basin mean elevation")
    ds["area_km2"].attrs.update(units="km2")
    return ds


def generate_region(config: VirtualRegionConfig | None = None) -> xr.Dataset:
    """Generate a virtual region (validated RegionData plus its truth).

    The record covers ``spinup_years`` before ``start_year`` plus ``n_years``; storages start
    from cycling the first year ``spinup_cycles`` times. Deterministic for a given seed.
    """
    cfg = config or VirtualRegionConfig()
    rng = np.random.default_rng(cfg.seed)
    terrain = make_terrain(cfg, rng)
    stations = choose_stations(terrain, cfg, rng)
    dates = record_dates(cfg)
    weather = make_weather(terrain, cfg, dates, rng)
    ids = [f"VR{i + 1:03d}" for i in range(stations.row.size)]
    skeleton = make_region(
        weather,
        dates,
        terrain.lat,
        terrain.lon,
        np.zeros((len(dates), len(ids)), dtype=np.float32),
        ids,
        names=[f"virtual {r} {i}" for r, i in zip(stations.regime, ids, strict=True)],
        station_lat=terrain.lat[stations.row],
        station_lon=terrain.lon[stations.col],
        glacier_fraction=stations.glacier_fraction,
        area_km2=stations.area_km2,
        basin_mask=stations.mask,
        attrs={
            "source": "hydrointerp virtual region (process simulator, truth known)",
            "virtual_config": cfg.to_json(),
            "spinup_end": str((dates[0] + pd.DateOffset(years=cfg.spinup_years)).date()),
        },
    )
    skeleton["glacier_cell_fraction"] = (("lat", "lon"), terrain.glacier.astype(np.float32))
    components = simulate(skeleton, skeleton["weather"].values).astype(np.float32)
    skeleton["flow"].values[:] = _observed(components.sum(axis=-1), cfg, rng)
    return add_cf_attrs(validate(_truth(skeleton, terrain, stations, components)))
