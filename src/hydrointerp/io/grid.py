"""The study grid: cell centres on a regular lon/lat lattice (lat north to south, lon west to east).

The default is the published 12 x 32 ERA5 0.75 deg grid (METHODS.md section 1.1):
latitudes 56.25 -> 48.00 and longitudes -133.00 -> -109.75.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, model_validator

from hydrointerp.errors import ConfigError


class Grid(BaseModel):
    """A regular lon/lat grid given by its cell centres or by an extent and a resolution.

    Give either ``lat`` and ``lon`` (cell centres, any order; they are sorted north to south and
    west to east; ``resolution`` is optional and sizes one-cell axes) or ``north``, ``south``,
    ``west``, ``east`` (centres of the outer cells) and ``resolution`` (degrees).

    Examples
    --------
    >>> Grid.study().shape
    (12, 32)
    >>> Grid(north=50, south=49, west=-120, east=-119, resolution=0.5).shape
    (3, 3)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: tuple[float, ...] | None = None
    lon: tuple[float, ...] | None = None
    north: float | None = None
    south: float | None = None
    west: float | None = None
    east: float | None = None
    resolution: float | None = None

    @model_validator(mode="after")
    def _complete(self) -> Grid:
        extent = (self.north, self.south, self.west, self.east, self.resolution)
        if self.lat is not None and self.lon is not None:
            if any(v is not None for v in extent[:4]):
                raise ConfigError("grid: give either lat/lon centres or an extent, not both")
            if len(self.lat) == 0 or len(self.lon) == 0:
                raise ConfigError("grid: lat and lon must not be empty")
            return self
        if any(v is None for v in extent):
            raise ConfigError(
                "grid: give lat and lon (cell centres) or north, south, west, east and resolution"
            )
        if self.resolution <= 0 or self.north < self.south or self.east < self.west:
            raise ConfigError(
                f"grid: need resolution > 0, north >= south, east >= west; found {extent}"
            )
        return self

    @classmethod
    def study(cls) -> Grid:
        """The published 12 x 32 grid at 0.75 deg."""
        return cls(north=56.25, south=48.0, west=-133.0, east=-109.75, resolution=0.75)

    @property
    def lats(self) -> np.ndarray:
        """Cell-centre latitudes, north to south."""
        if self.lat is not None:
            return np.sort(np.asarray(self.lat, dtype=np.float64))[::-1].copy()
        n = int(round((self.north - self.south) / self.resolution)) + 1
        return np.round(self.north - self.resolution * np.arange(n), 6)

    @property
    def lons(self) -> np.ndarray:
        """Cell-centre longitudes, west to east (-180..180)."""
        if self.lon is not None:
            lon = (np.asarray(self.lon, dtype=np.float64) + 180.0) % 360.0 - 180.0
            return np.sort(lon)
        n = int(round((self.east - self.west) / self.resolution)) + 1
        return np.round(self.west + self.resolution * np.arange(n), 6)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_lat, n_lon)``."""
        return len(self.lats), len(self.lons)

    def cell_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell edges ``(lat_edges, lon_edges)``: midway between centres, outer cells symmetric.

        Latitude edges run north to south like the centres. A one-cell axis uses ``resolution``
        (1 deg when no resolution was given).
        """
        step = self.resolution or 1.0
        return _edges(self.lats, step), _edges(self.lons, step)


def _edges(centres: np.ndarray, step: float) -> np.ndarray:
    if len(centres) == 1:
        return np.array([centres[0] - step / 2, centres[0] + step / 2])
    mids = (centres[1:] + centres[:-1]) / 2
    first = centres[0] - (mids[0] - centres[0])
    last = centres[-1] + (centres[-1] - mids[-1])
    return np.concatenate([[first], mids, [last]])


def cell_area_km2(grid: Grid) -> xr.DataArray:
    """Area of each grid cell on a sphere of radius 6371 km, ``(lat, lon)`` km2."""
    lat_e, lon_e = grid.cell_edges()
    radius = 6371.0
    band = np.abs(np.diff(np.sin(np.deg2rad(lat_e))))
    width = np.abs(np.deg2rad(np.diff(lon_e)))
    area = radius**2 * np.outer(band, width)
    return xr.DataArray(
        area,
        dims=("lat", "lon"),
        coords={"lat": grid.lats, "lon": grid.lons},
        name="cell_area",
        attrs={"units": "km2"},
    )
