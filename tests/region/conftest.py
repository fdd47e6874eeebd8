"""Session fixtures: the default virtual region (generated once) and a small one."""

from __future__ import annotations

import pytest
import xarray as xr

from hydrointerp.data.virtual import VirtualRegionConfig, generate_region

SMALL = {"n_lat": 6, "n_lon": 10, "n_years": 2, "n_stations": 8}


@pytest.fixture(scope="session")
def default_region() -> xr.Dataset:
    """The default region (12 x 32 cells, 1 + 12 years, 60 stations), seed 1."""
    return generate_region(VirtualRegionConfig(seed=1))


@pytest.fixture(scope="session")
def small_region() -> xr.Dataset:
    """A small region (6 x 10 cells, 1 + 2 years, 8 stations), seed 3."""
    return generate_region(VirtualRegionConfig(seed=3, **SMALL))
