"""The virtual twin of the published study region: the published design with truth known.

:func:`generate_twin` builds a RegionData with the layout and truth variables of the virtual
region (:func:`hydrointerp.data.virtual.generate_region`), so the simulator predictor, the
pipeline and every experiment run on it unchanged:

* the 226 real gauges and basins on the published 12 x 32 grid (:mod:`.twin_stations`);
* weather from the model fitted to the real mini ERA5 fields (:mod:`.twin_weather`);
* hydrology calibrated per gauge to the real seasonal cycles (:mod:`.twin_hydrology`), run by
  the virtual region's process model on one unit per (station, basin cell).

The regime truth follows the published rule applied to the twin itself: glacial when the glacier
fraction exceeds 1 %, pluvial when in the twin's cluster matched to the published Coastal
cluster, nival otherwise. Same settings and seed: identical twin. See ``docs/virtual_region.md``.

Example
-------
>>> from hydrointerp.data.twin import TwinConfig, generate_twin
>>> twin = generate_twin(TwinConfig(seed=1, first_year=2000, last_year=2002))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import linear_sum_assignment

from hydrointerp.data.mini import read_flowseason, read_mini
from hydrointerp.data.region import add_cf_attrs, make_region, validate
from hydrointerp.data.twin_hydrology import basin_forcing, calibrate, refine, shrunk_target
from hydrointerp.data.twin_stations import TwinStations, build_stations
from hydrointerp.data.twin_weather import (
    fit_weather,
    generate_weather,
    physical_weather,
    precip_scale,
)
from hydrointerp.data.virtual import RegionSimulator, simulate
from hydrointerp.data.virtual_config import COMPONENTS, VirtualRegionConfig
from hydrointerp.data.virtual_hydrology import KELVIN
from hydrointerp.experiments.regimes import regime_groups
from hydrointerp.io.grid import Grid, cell_area_km2
from hydrointerp.published import GRID_LAT, GRID_LON
from hydrointerp.shared import find_shared
from hydrointerp.training.cluster import cluster_stations, seasonal_flow

#: The published split of the twin's record (targets by year, inclusive).
PUBLISHED_SPLIT = {"train": (1979, 2000), "val": (2001, 2010), "test": (2011, 2015)}


class TwinConfig(BaseModel):
    """Settings of the twin; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="random seed of the weather; same seed, same twin")
    first_year: int = Field(1979, description="first year after the spin-up (published: 1979)")
    last_year: int = Field(2015, description="last year (published: 2015)")
    spinup_years: int = Field(1, ge=1, description="weather years before first_year")
    calibration_years: int = Field(
        8, ge=1, description="years (from first_year) of the first calibration pass"
    )
    cluster_shrinkage: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="share of the way each gauge's calibration target moves from its real "
        "cycle to its published cluster's mean cycle",
    )
    lapse_rate_k_per_km: float = Field(
        6.5, gt=0, description="turns the real mean temperature into the surrogate elevation"
    )

    @model_validator(mode="after")
    def _check(self) -> TwinConfig:
        if self.last_year < self.first_year:
            raise ValueError("last_year must not precede first_year")
        return self

    def dates(self) -> pd.DatetimeIndex:
        """Daily dates of the spin-up years plus first_year ... last_year."""
        first = self.first_year - self.spinup_years
        return pd.date_range(f"{first}-01-01", f"{self.last_year}-12-31", freq="D")

    def simulator_config(self) -> VirtualRegionConfig:
        """The virtual-region settings the simulator reads (grid, record, process defaults)."""
        return VirtualRegionConfig(
            seed=self.seed,
            n_years=self.last_year - self.first_year + 1,
            spinup_years=self.spinup_years,
            start_year=self.first_year,
            n_lat=GRID_LAT.size,
            n_lon=GRID_LON.size,
            lat_north=float(GRID_LAT[0]),
            lon_west=float(GRID_LON[0]),
            n_stations=226,
        )


def surrogate_elevation(mean_temp_k: np.ndarray, lat: np.ndarray, lapse: float) -> np.ndarray:
    """Elevation (m) implied by the real annual-mean temperature (lapse rate, 0.5 K/deg north)."""
    sea_level = 11.0 - 0.5 * (np.asarray(lat)[:, None] - 52.0)
    return 1000.0 * (sea_level - (mean_temp_k - KELVIN)) / lapse


def _glacier_cells(stations: TwinStations, cell_area: np.ndarray) -> np.ndarray:
    """Area-weighted mean glacier fraction of the stations' units in each cell (0 outside)."""
    g = stations.attributes["glacier_fraction"].to_numpy()[:, None, None]
    w = stations.mask * cell_area
    total = w.sum(axis=0)
    return np.where(total > 0, (w * g).sum(axis=0) / np.where(total > 0, total, 1.0), 0.0)


def match_clusters(labels: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Relabel ``labels`` to the ``reference`` labels they overlap most (Hungarian matching)."""
    n = int(max(labels.max(), reference.max())) + 1
    table = np.zeros((n, n))
    np.add.at(table, (labels, reference), 1)
    rows, cols = linear_sum_assignment(-table)
    mapping = np.arange(n)
    mapping[rows] = cols
    return mapping[labels]


def twin_regimes(twin: xr.Dataset, published: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """The twin's clusters (matched to the published numbering) and its regime groups."""

    years = (int(twin.attrs["first_year"]), int(twin["time"].dt.year.values[-1]))
    season = seasonal_flow(twin, years)
    raw = cluster_stations(season, twin["station_lat"].values, twin["station_lon"].values)
    labels = match_clusters(raw.values, published.values)
    cluster = raw.copy(data=labels)
    return cluster, regime_groups(twin["glacier_fraction"], cluster)


def published_clusters(shared: Path) -> xr.DataArray:
    """The published six clusters, from the real seasonal flows (``flowseason_norm``)."""

    mini = read_mini(shared, basin_masks=False)
    return cluster_stations(
        read_flowseason(shared), mini["station_lat"].values, mini["station_lon"].values
    )


def generate_twin(
    config: TwinConfig | None = None, shared: str | os.PathLike[str] | None = None
) -> xr.Dataset:
    """Generate the twin (validated RegionData plus truth).

    Parameters
    ----------
    config
        The twin's settings (default :class:`TwinConfig`).
    shared
        The shared folder (default: ``HYDROINTERP_SHARED`` or ``../shared``).
    """
    cfg = config or TwinConfig()
    root = find_shared(shared)
    data = root / "data"
    mini = read_mini(root)
    scale = precip_scale(data, mini)
    real, real_dates = physical_weather(mini, scale)
    fit = fit_weather(real, real_dates, GRID_LAT, GRID_LON, scale)

    cell_area = cell_area_km2(Grid(lat=tuple(GRID_LAT), lon=tuple(GRID_LON))).values
    mean_t = 0.5 * (fit.mean_coef[0, 0] + fit.mean_coef[1, 0]).reshape(GRID_LAT.size, GRID_LON.size)
    elevation = surrogate_elevation(mean_t, GRID_LAT, cfg.lapse_rate_k_per_km)
    stations = build_stations(mini, data, cell_area, elevation)
    dates = cfg.dates()
    weather = generate_weather(fit, dates, cfg.seed)
    sim_cfg = cfg.simulator_config()
    attrs = stations.attributes
    cal_start = int(np.searchsorted(dates, pd.Timestamp(f"{cfg.first_year}-01-01")))
    cal_end = min(len(dates), cal_start + int(round(365.25 * cfg.calibration_years)))
    forcing = basin_forcing(
        weather[cal_start:cal_end].astype(np.float64), stations.mask.astype(np.float64), cell_area
    )
    published = published_clusters(root)
    target = shrunk_target(read_flowseason(root).values, published.values, cfg.cluster_shrinkage)
    params, cal_corr = calibrate(
        sim_cfg, forcing, dates[cal_start:cal_end], attrs["glacier_fraction"].to_numpy(), target
    )
    ids = attrs.index.tolist()
    skeleton = make_region(
        weather,
        dates,
        GRID_LAT,
        GRID_LON,
        np.zeros((len(dates), len(ids)), dtype=np.float32),
        ids,
        names=attrs["name"].tolist(),
        station_lat=attrs["lat"].to_numpy(),
        station_lon=attrs["lon"].to_numpy(),
        glacier_fraction=attrs["glacier_fraction"].to_numpy(),
        area_km2=attrs["area_km2"].to_numpy(),
        basin_mask=stations.mask,
        attrs={
            "source": "hydrointerp virtual twin of the published study region (truth known)",
            "title": "hydrointerp twin RegionData",
            "virtual_config": sim_cfg.to_json(),
            "twin_config": json.dumps(cfg.model_dump(), sort_keys=True),
            "spinup_end": str((dates[0] + pd.DateOffset(years=cfg.spinup_years)).date()),
            "first_year": cfg.first_year,
            "precip_scale_mm_day": scale,
            "published_split": json.dumps(PUBLISHED_SPLIT),
        },
    )
    skeleton["glacier_cell_fraction"] = (
        ("lat", "lon"),
        _glacier_cells(stations, cell_area).astype(np.float32),
        {"units": "1", "long_name": "area-weighted glacier fraction of the basins in the cell"},
    )
    skeleton["hydro_param"] = (("station", "param"), params.to_numpy(np.float64))
    skeleton = skeleton.assign_coords(param=list(params.columns))
    sim = RegionSimulator(skeleton)
    unit_forcing = sim.cells(weather[cal_start:])
    params, cal_corr = refine(
        sim_cfg,
        unit_forcing,
        dates[cal_start:],
        sim.basin * sim.cell_area_km2,
        sim.model.glacier,
        params,
        target,
    )
    skeleton["hydro_param"] = (("station", "param"), params.to_numpy(np.float64))
    skeleton["hydro_param"].attrs.update(long_name="calibrated process parameters per gauge")
    components = simulate(skeleton, skeleton["weather"].values).astype(np.float32)
    skeleton["flow"].values[:] = components.sum(axis=-1)
    return add_cf_attrs(
        validate(_truth(skeleton, stations, components, elevation, cal_corr, published))
    )


def _truth(
    ds: xr.Dataset,
    stations: TwinStations,
    components: np.ndarray,
    elevation: np.ndarray,
    cal_corr: np.ndarray,
    published: xr.DataArray,
) -> xr.Dataset:
    attrs = stations.attributes
    ds["flow_component"] = (("time", "station", "component"), components)
    ds = ds.assign_coords(component=list(COMPONENTS))
    ds["elevation"] = (("lat", "lon"), elevation.astype(np.float32), {"units": "m"})
    ds["elevation"].attrs["long_name"] = "surrogate elevation from the real mean temperature"
    ds = ds.assign_coords(
        elevation_m=("station", attrs["elevation_m"].to_numpy()),
        snow_ice_fraction=("station", attrs["snow_ice_fraction"].to_numpy()),
        forest_fraction=("station", attrs["forest_fraction"].to_numpy()),
        basin_outlined=("station", stations.outlined.astype(np.int8)),
        calibration_corr=("station", cal_corr.astype(np.float64)),
    )
    ds["elevation_m"].attrs.update(units="m", long_name="basin mean elevation (HYSETS)")
    ds["area_km2"].attrs.update(units="km2")
    ds.attrs["nested_basins"] = json.dumps({k: v for k, v in stations.nested_in.items() if v})
    cluster, groups = twin_regimes(ds, published)
    ds["cluster"] = cluster.astype(np.int64)
    ds["cluster"].attrs = {"long_name": "twin station cluster, matched to the published ones"}
    ds["regime"] = ("station", groups["regime"].values.astype(str).astype(object))
    ds["regime"].attrs.update(long_name="flow regime (published rule on the twin)")
    return ds
