"""Export a RegionData to the Caravan layout (Kratzert et al. 2023), read by neuralhydrology.

Layout written under ``OUT``::

    timeseries/netcdf/<source>/<source>_<station>.nc   one file per gauge, dimension ``date``
    attributes/<source>/attributes_other_<source>.csv      gauge name, lat, lon, area
    attributes/<source>/attributes_caravan_<source>.csv    climate indices of the forcings
    attributes/<source>/attributes_hydrointerp_<source>.csv  glacier fraction (+ elevation)

Each time series holds the basin-averaged daily forcings, computed from the gridded weather
with weights ``basin_mask x cell area`` (the fraction of each cell inside the basin times the
cell's area on the sphere): ``temperature_2m_max`` / ``_min`` (deg C), ``temperature_2m_mean``
(deg C; the mean of the two, as the grid holds no daily mean), ``total_precipitation_sum``
(mm/d), and ``streamflow`` in mm/d (Caravan's unit: ``Q 86400 / area``), NaN where the gauge has
no record. Gauge ids are ``<source>_<station>``, as Caravan's loader takes the sub-dataset name
from the text before the first underscore.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_netcdf, write_text
from hydrointerp.errors import ConfigError, DataError

#: Caravan's names of the forcings exported, with their units
FORCINGS = {
    "temperature_2m_max": "degC",
    "temperature_2m_min": "degC",
    "temperature_2m_mean": "degC",
    "total_precipitation_sum": "mm d-1",
}
STREAMFLOW = "streamflow"


def gauge_id(source: str, station: str) -> str:
    """Caravan's gauge id ``<source>_<station>``."""
    return f"{source}_{station}"


def basin_weights(region: xr.Dataset, source: str = "<memory>") -> xr.DataArray:
    """``basin_mask x cell area``, normalised to sum 1 per station: ``(station, lat, lon)``.

    Raises
    ------
    DataError
        When the region has no basin masks, or a station's mask is empty.
    """
    from hydrointerp.io.grid import Grid, cell_area_km2

    if "basin_mask" not in region:
        raise DataError(
            "basin averages need basin masks", source=source, variable="basin_mask",
            expected="basin_mask(station, lat, lon)", found="absent",
        )  # fmt: skip
    grid = Grid(lat=tuple(region["lat"].values), lon=tuple(region["lon"].values))
    # the Grid sorts north to south and west to east, as RegionData does
    area = cell_area_km2(grid).assign_coords(lat=region["lat"], lon=region["lon"])
    w = region["basin_mask"].astype(np.float64).fillna(0.0) * area
    total = w.sum(("lat", "lon"))
    empty = [str(s) for s in region["station"].values[total.values <= 0]]
    if empty:
        raise DataError(
            "stations without any basin cell", source=source, variable="basin_mask",
            expected="a mask with cells > 0 for every station", found=empty[:10],
        )  # fmt: skip
    return w / total


def basin_forcings(region: xr.Dataset, source: str = "<memory>") -> xr.Dataset:
    """Basin-averaged daily forcings ``(time, station)`` in Caravan's names and units."""
    from hydrointerp.data.region import weather_end

    w = basin_weights(region, source)
    weather = region["weather"].sel(time=slice(None, weather_end(region))).astype(np.float64)
    have = [str(c) for c in weather["channel"].values]
    need = ["tmax", "tmin", "precip"]
    if [c for c in need if c not in have]:
        raise DataError(
            "the weather lacks a channel Caravan needs", source=source, variable="channel",
            expected=need, found=have,
        )  # fmt: skip
    mean = xr.dot(weather, w, dim=("lat", "lon")).transpose("time", "station", "channel")
    tmax = mean.sel(channel="tmax", drop=True) - 273.15
    tmin = mean.sel(channel="tmin", drop=True) - 273.15
    out = xr.Dataset(
        {
            "temperature_2m_max": tmax,
            "temperature_2m_min": tmin,
            "temperature_2m_mean": (tmax + tmin) / 2,
            "total_precipitation_sum": mean.sel(channel="precip", drop=True),
        }
    )
    for name, units in FORCINGS.items():
        out[name].attrs = {"units": units, "long_name": f"basin-averaged {name}"}
    return out


def streamflow_mm_per_day(region: xr.Dataset, source: str = "<memory>") -> xr.DataArray:
    """Flow in mm/d over each basin (``Q[m3/s] 86400 / area``), Caravan's streamflow unit."""
    area = region["area_km2"].astype(np.float64) if "area_km2" in region.coords else None
    if area is None or not np.all(np.isfinite(area.values) & (area.values > 0)):
        found = "absent" if area is None else list(area["station"].values[~(area.values > 0)])
        raise DataError(
            "streamflow in mm/d needs every basin's area", source=source, variable="area_km2",
            expected="area_km2 > 0 for every station", found=found,
        )  # fmt: skip
    q = region["flow"].astype(np.float64) * 86400.0 / (area * 1e6) * 1000.0
    q.attrs = {"units": "mm d-1", "long_name": "observed streamflow (basin depth per day)"}
    return q.drop_vars([c for c in q.coords if c not in ("time", "station")])


def climate_indices(forcings: xr.Dataset) -> pd.DataFrame:
    """Caravan's climate indices of the exported forcings, one row per station.

    ``p_mean`` mean daily precipitation (mm/d); ``frac_snow`` the share of precipitation on days
    with a mean temperature below 0 deg C; ``high_prec_freq`` the share of days with at least 5
    times the mean daily precipitation; ``low_prec_freq`` the share of days under 1 mm/d.
    """
    p = forcings["total_precipitation_sum"]
    t = forcings["temperature_2m_mean"]
    p_mean = p.mean("time")
    return pd.DataFrame(
        {
            "p_mean": p_mean.values,
            "frac_snow": (p.where(t < 0, 0.0).sum("time") / p.sum("time")).values,
            "high_prec_freq": (p >= 5 * p_mean).mean("time").values,
            "low_prec_freq": (p < 1).mean("time").values,
        },
        index=pd.Index([str(s) for s in p["station"].values], name="station"),
    )


def export_caravan(
    region: xr.Dataset,
    out: str | os.PathLike[str],
    source: str = "hydrointerp",
    origin: str = "<memory>",
) -> dict[str, Any]:
    """Write ``region`` in the Caravan layout under ``out`` (see the module docstring).

    Parameters
    ----------
    region
        A RegionData in physical units with basin masks and basin areas.
    out
        The Caravan root folder (created).
    source
        Sub-dataset name: letters and digits only (no underscore), e.g. ``hydrointerp``.
    origin
        Where the region came from (for error messages and file attributes).

    Returns
    -------
    dict
        ``gauges`` (the gauge ids), ``n_days``, ``period`` and the written ``files``.

    Raises
    ------
    ConfigError
        When ``source`` is not alphanumeric.
    DataError
        Normalised inputs, or no basin masks / areas.
    """
    from hydrointerp.data.region import is_normalised

    if not source.isalnum():
        raise ConfigError(f"Caravan source name must be letters and digits only, got {source!r}")
    if is_normalised(region):
        raise DataError(
            "Caravan needs physical units; this region holds normalised values",
            source=origin, variable="weather", expected="K and mm/d", found="normalised",
        )  # fmt: skip
    root = Path(out)
    forcings = basin_forcings(region, origin)
    flow = streamflow_mm_per_day(region, origin).sel(time=forcings["time"])
    series = forcings.assign({STREAMFLOW: flow})
    ids = [str(s) for s in region["station"].values]
    files = []
    for st in ids:
        one = series.sel(station=st, drop=True).rename(time="date")
        one = one.drop_vars([c for c in one.coords if c != "date"])
        one.attrs = {"gauge_id": gauge_id(source, st), "source": origin, "layout": "Caravan"}
        path = root / "timeseries" / "netcdf" / source / f"{gauge_id(source, st)}.nc"
        files.append(write_netcdf(one, path))
    index = pd.Index([gauge_id(source, s) for s in ids], name="gauge_id")
    files += _write_attributes(region, forcings, root, source, index)
    days = pd.DatetimeIndex(series["time"].values)
    return {
        "gauges": list(index),
        "n_days": int(days.size),
        "period": f"{days[0].date()}..{days[-1].date()}",
        "files": [str(p) for p in files],
    }


def _station_values(region: xr.Dataset, name: str) -> np.ndarray:
    if name in region.coords or name in region.data_vars:
        return region[name].values
    return np.full(region.sizes["station"], np.nan)


def _write_attributes(
    region: xr.Dataset, forcings: xr.Dataset, root: Path, source: str, index: pd.Index
) -> list[Path]:
    folder = root / "attributes" / source
    names = _station_values(region, "name")
    other = pd.DataFrame(
        {
            "gauge_name": [str(n) if str(n) not in ("", "nan") else "" for n in names],
            "gauge_lat": _station_values(region, "station_lat"),
            "gauge_lon": _station_values(region, "station_lon"),
            "area": _station_values(region, "area_km2"),
        },
        index=index,
    )
    caravan = climate_indices(forcings).set_index(index)
    extra = {"glacier_fraction": _station_values(region, "glacier_fraction")}
    if "elevation_m" in region.coords:
        extra["elevation_m"] = region["elevation_m"].values
    tables = {
        f"attributes_other_{source}.csv": other,
        f"attributes_caravan_{source}.csv": caravan,
        f"attributes_hydrointerp_{source}.csv": pd.DataFrame(extra, index=index),
    }
    return [write_text(folder / name, t.to_csv()) for name, t in tables.items()]


def read_export_source(path: str | os.PathLike[str]) -> tuple[xr.Dataset, str]:
    """The RegionData of a run folder (its ``region.nc``) or of a ``region.nc`` file."""
    from hydrointerp.data import region as rd

    path = Path(path)
    file = path / "region.nc" if path.is_dir() else path
    if not file.is_file():
        raise DataError(
            "no region to export", source=str(path), variable="region.nc",
            expected="a run folder with region.nc, or a region.nc file", found="neither",
        )  # fmt: skip
    return rd.load(file), str(file)
