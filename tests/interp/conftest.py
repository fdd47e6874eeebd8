"""Fixtures of the interpretation tests: the mini year, its clusters and in/near pixels (cached)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr


@pytest.fixture(scope="session")
def mini(shared: Path) -> xr.Dataset:
    """The published mini year as RegionData (no basin fractions: faster)."""
    from hydrointerp.data.mini import read_mini

    return read_mini(shared, basin_masks=False)


@pytest.fixture(scope="session")
def mini_clusters(shared: Path, mini: xr.Dataset) -> xr.DataArray:
    """Published station clusters (official numbering) of the mini year."""
    from hydrointerp.data.mini import read_flowseason
    from hydrointerp.training.cluster import cluster_stations

    return cluster_stations(
        read_flowseason(shared), mini["station_lat"].values, mini["station_lon"].values
    )


@pytest.fixture(scope="session")
def mini_in_near(shared: Path, mini: xr.Dataset) -> xr.DataArray:
    """Published in/near pixels of every station (1 degree from outline vertices or gauge)."""
    from hydrointerp.io.geo import in_near_mask, read_outlines

    outlines = read_outlines(shared / "data" / "basins" / "stationBasins_partial_226.geojson")
    return in_near_mask(
        outlines,
        mini["station"].values,
        mini["station_lon"].values,
        mini["station_lat"].values,
        mini["lat"].values,
        mini["lon"].values,
    )


@pytest.fixture(scope="session")
def mini_frames(mini: xr.Dataset) -> xr.DataArray:
    """Normalised input days 2010-01-01 .. 2011-12-30."""
    from hydrointerp.data.region import weather_end

    return mini["weather"].sel(time=slice(None, weather_end(mini)))


@pytest.fixture(scope="session")
def mini_stations(mini: xr.Dataset, mini_clusters, mini_in_near) -> xr.Dataset:
    """Station metadata as experiments read it: in_near, cluster, regime, glacier fraction."""
    from hydrointerp.experiments.regimes import regime_groups

    ids = mini["station"].values
    cluster = mini_clusters.assign_coords(station=ids)
    groups = regime_groups(mini["glacier_fraction"].assign_coords(station=ids), cluster)
    return xr.Dataset(
        {
            "in_near": mini_in_near.assign_coords(station=ids),
            "cluster": cluster,
            "glacier_fraction": mini["glacier_fraction"],
            "regime": ("station", groups["regime"].values),
            "group": ("station", groups.values),
        }
    )
