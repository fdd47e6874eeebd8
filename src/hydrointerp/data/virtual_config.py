"""Settings of the virtual region (a synthetic southwestern Canada with known truth).

Every physical parameter of the simulator is a field here with its unit in the name and a
documented default, so a region file's ``attrs["virtual_config"]`` (this model as JSON) rebuilds
the simulator exactly. See ``docs/virtual_region.md``.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

COMPONENTS: tuple[str, ...] = ("rain", "snowmelt", "glacier_melt")
REGIMES: tuple[str, ...] = ("pluvial", "nival", "glacial", "plains")


class VirtualRegionConfig(BaseModel):
    """All settings of a virtual region; unknown keys are errors.

    Terrain features are placed in coordinates relative to the grid extent (0 = west/south edge,
    1 = east/north edge), so a small grid is a coarser copy of the same region with all four
    regimes; temperatures use the absolute latitude.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- record and grid
    seed: int = Field(0, description="random seed; same seed, same region")
    n_years: int = Field(12, ge=1, description="simulated years after the spin-up")
    spinup_years: int = Field(1, ge=1, description="spin-up years before start_year (look-back)")
    start_year: int = Field(2000, description="first year after the spin-up")
    n_lat: int = Field(12, ge=3)
    n_lon: int = Field(32, ge=4)
    resolution: float = Field(0.75, gt=0, description="grid step in degrees")
    lat_north: float = Field(56.25, description="latitude of the northern row (cell centre)")
    lon_west: float = Field(-133.0, description="longitude of the western column (cell centre)")
    n_stations: int = Field(60, ge=1)
    noise_sd: float = Field(0.0, ge=0, description="relative (log-normal) noise on flow")
    missing_fraction: float = Field(0.0, ge=0, lt=1, description="share of flow days missing")
    missing_gap_days: int = Field(20, ge=1, description="mean length of a missing-flow gap")

    # --- terrain (m)
    coast_range_m: float = Field(1900.0, description="crest height of the coast range")
    plateau_m: float = Field(1500.0, description="interior plateau height")
    rockies_m: float = Field(2400.0, description="crest height of the Rocky Mountain ridge")
    plains_west_m: float = Field(1000.0, description="plains height at the foothills")
    plains_east_m: float = Field(450.0, description="plains height at the eastern edge")
    roughness_m: float = Field(150.0, ge=0, description="sd of the random smooth relief")

    # --- temperature
    t_sea_level_c: float = Field(11.0, description="annual mean at sea level, 52 N, coast (C)")
    lat_gradient_k_per_deg: float = Field(0.5, description="cooling per degree north")
    lapse_rate_k_per_km: float = Field(6.0, description="cooling with elevation")
    continental_cooling_k: float = Field(4.0, description="annual-mean cooling far inland")
    seasonal_amp_coast_k: float = Field(5.0, description="half the Jul-Jan range at the coast")
    seasonal_amp_inland_k: float = Field(14.0, description="half the Jul-Jan range far inland")
    diurnal_range_coast_k: float = Field(6.0, description="Tmax - Tmin at the coast (dry day)")
    diurnal_range_inland_k: float = Field(13.0, description="Tmax - Tmin far inland (dry day)")
    wet_day_range_factor: float = Field(0.6, gt=0, le=1, description="diurnal range on wet days")
    anomaly_sd_k: float = Field(3.0, ge=0, description="sd of synoptic temperature anomalies")
    anomaly_days: float = Field(4.0, gt=0, description="e-folding time of anomalies (days)")
    anomaly_cells: float = Field(3.0, ge=0, description="spatial smoothing of anomalies (cells)")

    # --- precipitation
    precip_coast_mm_day: float = Field(6.5, gt=0, description="annual mean at the coastline")
    precip_floor: float = Field(0.15, gt=0, le=1, description="moisture left in the driest shadow")
    rain_shadow_m: float = Field(1000.0, gt=0, description="ascent that e-folds the moisture")
    orographic_per_km: float = Field(0.8, ge=0, description="windward enhancement per km ascent")
    elevation_per_km: float = Field(0.1, ge=0, description="enhancement per km of elevation")
    seasonality_coast: float = Field(0.65, ge=0, lt=1, description="winter-max amplitude, coast")
    seasonality_inland: float = Field(0.35, ge=0, lt=1, description="summer-max amplitude, east")
    wet_prob_coast: float = Field(0.6, gt=0, lt=1, description="wet-day probability, coast")
    wet_prob_inland: float = Field(0.35, gt=0, lt=1, description="wet-day probability, inland")
    precip_days: float = Field(1.5, gt=0, description="e-folding time of the wet/dry driver")

    # --- hydrology
    t_snow_c: float = Field(-1.0, description="all snow below this daily mean (C)")
    t_rain_c: float = Field(2.0, description="all rain above this daily mean (C)")
    t_melt_c: float = Field(0.0, description="melt threshold of snow and ice (C)")
    ddf_snow_mm_per_k: float = Field(2.5, ge=0, description="snow degree-day factor (mm/K/day)")
    ddf_ice_mm_per_k: float = Field(7.0, ge=0, description="ice degree-day factor (mm/K/day)")
    pet_mm_per_k: float = Field(0.35, ge=0, description="evaporation demand per C above 0")
    fast_rate_per_day: float = Field(0.25, gt=0, le=1, description="fast reservoir outflow rate")
    slow_rate_per_day: float = Field(0.02, gt=0, le=1, description="slow reservoir outflow rate")
    slow_share: float = Field(0.35, ge=0, le=1, description="share of water input to slow store")
    snow_cap_mm: float = Field(400.0, gt=0, description="SWE above this on glacier cells is firn")
    spinup_cycles: int = Field(3, ge=1, description="passes of the first year to set storages")

    # --- glaciers and stations
    glacier_elev_min_m: float = Field(1400.0, description="cells above carry glaciers")
    glacier_elev_full_m: float = Field(2300.0, description="elevation of the max glacier cover")
    glacier_max_fraction: float = Field(0.85, gt=0, le=1, description="max glacier cell cover")
    glacial_min_fraction: float = Field(0.05, gt=0, description="basins above are glacial")
    pluvial_max_elev_m: float = Field(300.0, description="coastal basins below are pluvial")
    nival_min_elev_m: float = Field(1000.0, description="interior basins above are nival")
    max_basin_cells: int = Field(30, ge=1, description="largest basin offered as a station")
    min_basin_cells: int = Field(1, ge=1, description="smallest basin offered as a station")

    @model_validator(mode="after")
    def _check(self) -> VirtualRegionConfig:
        if self.t_rain_c <= self.t_snow_c:
            raise ValueError("t_rain_c must exceed t_snow_c")
        if self.min_basin_cells > self.max_basin_cells:
            raise ValueError("min_basin_cells must not exceed max_basin_cells")
        if self.glacier_elev_full_m <= self.glacier_elev_min_m:
            raise ValueError("glacier_elev_full_m must exceed glacier_elev_min_m")
        return self

    def to_json(self) -> str:
        """The settings as JSON (stored in ``attrs['virtual_config']``)."""
        return json.dumps(self.model_dump(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> VirtualRegionConfig:
        """Settings back from :meth:`to_json`."""
        return cls.model_validate(json.loads(text))
