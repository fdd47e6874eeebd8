"""Raw data in: ERA5 NetCDF, HYDAT SQLite, WSC CSV, basin outlines and glaciers -> RegionData.

See ``docs/data_sources.md``. The public API:

* :func:`read_era5` - ERA5 NetCDF -> ``weather(time, lat, lon, channel)`` (K, mm/day)
* :func:`read_hydat`, :func:`read_wsc_csv`, :func:`read_station_netcdf` - daily flow
* :func:`select_stations` with :class:`SelectionRules` - METHODS.md 1.4
* :func:`read_outlines`, :func:`basin_masks`, :func:`in_near_mask` - basins
* :func:`read_glaciers`, :func:`glacier_fraction`, :func:`glacier_cell_area` - RGI glaciers
* :func:`build_region` with :class:`BuildConfig` - everything -> RegionData
"""

from hydrointerp.io.assemble import BuildSummary, build_region, build_region_with_summary
from hydrointerp.io.build_config import BuildConfig, load_build_config, parse_build_config
from hydrointerp.io.era5 import read_era5
from hydrointerp.io.flow import SelectionRules, select_stations
from hydrointerp.io.geo import basin_masks, in_near_mask, read_outlines
from hydrointerp.io.glaciers import glacier_cell_area, glacier_fraction, read_glaciers
from hydrointerp.io.grid import Grid
from hydrointerp.io.hydat import read_hydat
from hydrointerp.io.wsc import read_station_netcdf, read_wsc_csv

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "Grid",
    "SelectionRules",
    "basin_masks",
    "build_region",
    "build_region_with_summary",
    "glacier_cell_area",
    "glacier_fraction",
    "in_near_mask",
    "load_build_config",
    "parse_build_config",
    "read_era5",
    "read_glaciers",
    "read_hydat",
    "read_outlines",
    "read_station_netcdf",
    "read_wsc_csv",
    "select_stations",
]
