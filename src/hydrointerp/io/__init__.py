"""Raw data in: ERA5 NetCDF, HYDAT SQLite, WSC CSV, basin outlines and glaciers -> RegionData."""

from hydrointerp.io.geo import (
    basin_masks,
    glacier_cell_area,
    glacier_fraction,
    in_near_mask,
    read_glaciers,
    read_outlines,
)
from hydrointerp.io.grid import Grid

__all__ = [
    "Grid",
    "basin_masks",
    "glacier_cell_area",
    "glacier_fraction",
    "in_near_mask",
    "read_glaciers",
    "read_outlines",
]
