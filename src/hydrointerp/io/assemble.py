"""Build a RegionData (``region.nc``) from raw files, driven by a :class:`BuildConfig`.

Steps: candidate stations -> daily flow (HYDAT or WSC CSV) -> station selection (METHODS.md 1.4)
-> ERA5 daily weather on the grid -> basin masks -> glacier fractions -> ``make_region``.
The config and how it is read are :mod:`hydrointerp.io.build_config`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.data.region import glacier_classes, make_region, save
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.io.build_config import (
    BuildConfig,
    StationSettings,
    load_build_config,
    resolve_path,
)
from hydrointerp.io.era5 import read_era5
from hydrointerp.io.era5_checks import check_precip_units
from hydrointerp.io.files import reading
from hydrointerp.io.flow import select_stations
from hydrointerp.io.geo import basin_masks, read_outlines
from hydrointerp.io.glaciers import glacier_fraction, read_glacier_fraction_table, read_glaciers
from hydrointerp.io.grid import Grid
from hydrointerp.io.hydat import read_hydat
from hydrointerp.io.wsc import read_wsc_csv

_WSC_ID = re.compile(r"^\d{2}[A-Z]{2}\d{3}$")


@dataclass
class BuildSummary:
    """What :func:`build_region` did: stations kept/dropped, period, missing, glacier classes."""

    kept: list[str]
    dropped: dict[str, str]
    missing: dict[str, float]
    period: tuple[str, str]
    glacier_classes: dict[str, int]
    basin_fallback: list[str] = field(default_factory=list)
    regrid: str = ""
    recipe: str = ""

    def format(self) -> str:
        """A human-readable multi-line summary."""
        lines = [
            f"period: {self.period[0]} .. {self.period[1]}  (recipe {self.recipe},"
            f" regrid {self.regrid})",
            f"stations kept: {len(self.kept)}, dropped: {len(self.dropped)}",
        ]
        for sid in self.kept:
            lines.append(f"  kept    {sid}  missing {self.missing.get(sid, float('nan')):.3f}")
        for sid, reason in self.dropped.items():
            lines.append(f"  dropped {sid}  {reason}")
        if self.basin_fallback:
            lines.append(f"no basin outline (1 deg gauge rule): {', '.join(self.basin_fallback)}")
        lines.append(
            "glacier classes: " + ", ".join(f"{k}: {v}" for k, v in self.glacier_classes.items())
        )
        return "\n".join(lines)


def _candidate_table(settings: StationSettings, base: Path) -> pd.DataFrame:
    """Candidate ids (index) with optional Latitude/Longitude/DrainageArea/StationName."""
    frames = []
    if settings.file:
        path = Path(resolve_path(base, settings.file))
        with reading(path, "CSV"):
            table = pd.read_csv(path, dtype=str, skipinitialspace=True, encoding="latin-1")
        table.columns = [str(c).strip() for c in table.columns]
        if settings.id_column not in table.columns:
            raise DataError(
                "missing station-id column",
                source=str(path),
                variable=settings.id_column,
                found=list(table.columns)[:10],
            )
        ids = table[settings.id_column].astype(str).str.strip()
        frames.append(table[ids.str.match(_WSC_ID)].set_index(ids[ids.str.match(_WSC_ID)]))
    if settings.ids:
        frames.append(pd.DataFrame(index=[str(s).strip() for s in settings.ids]))
    if not frames:
        return pd.DataFrame(index=pd.Index([], dtype=object))
    table = pd.concat(frames)
    return table[~table.index.duplicated()]


def _read_flow(config: BuildConfig, base: Path, ids: list[str]) -> xr.Dataset:
    start, end = config.period.start, config.period.end
    paths = [resolve_path(base, p) for p in config.flow.paths]
    if config.flow.source == "hydat":
        if not ids:
            raise ConfigError("flow.source hydat needs stations.ids or stations.file")
        return read_hydat(paths[0], ids, start, end)
    flows = read_wsc_csv(paths, config.flow.layout, start, end)
    if ids:
        unknown = [s for s in ids if s not in set(flows["station"].values)]
        if unknown:
            raise DataError(
                "unknown station id",
                source=flows.attrs.get("source"),
                variable="station",
                expected="ids present in the flow files",
                found=unknown[:10],
            )
        flows = flows.sel(station=ids)
    return flows


def _fill_meta(flows: xr.Dataset, candidates: pd.DataFrame) -> xr.Dataset:
    """Fill station metadata missing from the flow source from the candidate table."""
    columns = {
        "station_lat": "Latitude",
        "station_lon": "Longitude",
        "area_km2": "DrainageArea",
    }
    ids = [str(s) for s in flows["station"].values]
    for coord, column in columns.items():
        if column not in candidates.columns:
            continue
        extra = pd.to_numeric(candidates[column].reindex(ids), errors="coerce").to_numpy()
        values = flows[coord].values.astype(float)
        flows = flows.assign_coords({coord: ("station", np.where(np.isnan(values), extra, values))})
    if "StationName" in candidates.columns:
        names = candidates["StationName"].reindex(ids).fillna("").astype(str).str.strip()
        current = flows["name"].values.astype(str)
        merged = np.where(current == "", names.to_numpy(), current).astype(object)
        flows = flows.assign_coords(name=("station", merged))
    return flows


def _weather(config: BuildConfig, base: Path) -> xr.DataArray:
    paths = [resolve_path(base, p) for p in config.era5.paths]
    expanded = paths[0] if len(paths) == 1 else paths
    weather = read_era5(
        expanded, grid=config.grid, recipe=config.era5.recipe, ranges=config.era5.ranges
    )
    start = config.period.start or weather["time"].values[0]
    end = config.period.end or weather["time"].values[-1]
    have = pd.DatetimeIndex(weather["time"].values)
    if pd.Timestamp(start) < have[0] or pd.Timestamp(end) > have[-1]:
        raise DataError(
            "ERA5 files do not cover the period",
            source=weather.attrs.get("sources"),
            variable="time",
            expected=f"{pd.Timestamp(start).date()} .. {pd.Timestamp(end).date()}",
            found=f"{have[0].date()} .. {have[-1].date()}",
        )
    loaded = _compute_by_year(weather.sel(time=slice(start, end)))
    return check_precip_units(loaded, config.era5.min_wettest_mm)


def _compute_by_year(weather: xr.DataArray) -> xr.DataArray:
    """Load lazily-read weather year by year, with a progress bar."""
    years = pd.DatetimeIndex(weather["time"].values).year
    blocks = []
    for year in tqdm(np.unique(years), desc="ERA5 (years)", disable=len(np.unique(years)) < 2):
        blocks.append(weather.isel(time=np.flatnonzero(years == year)).compute())
    out = xr.concat(blocks, dim="time")
    out.attrs = weather.attrs
    return out


def _glaciers(config: BuildConfig, base: Path, outlines, flows: xr.Dataset) -> np.ndarray:
    ids = [str(s) for s in flows["station"].values]
    settings = config.glaciers
    if settings is None:
        return np.zeros(len(ids))
    if settings.table:
        table = read_glacier_fraction_table(
            resolve_path(base, settings.table), settings.id_column, settings.value_column
        )
        missing = [s for s in ids if s not in table.index]
        if missing:
            raise DataError(
                "stations missing from the glacier table",
                source=resolve_path(base, settings.table),
                variable=settings.id_column,
                found=missing[:10],
            )
        return table.reindex(ids).to_numpy(dtype=float)
    if settings.path is None:
        raise ConfigError("glaciers: give path (RGI outlines) or table (per-station fractions)")
    rgi = read_glaciers(resolve_path(base, settings.path), settings.layer)
    area = pd.Series(flows["area_km2"].values, index=ids)
    return glacier_fraction(rgi, outlines, area).values


def build_region(config: BuildConfig, base: str | os.PathLike[str] = ".") -> xr.Dataset:
    """Build a RegionData from raw files (see :func:`build_region_with_summary`)."""
    return build_region_with_summary(config, base)[0]


def build_region_with_summary(
    config: BuildConfig, base: str | os.PathLike[str] = "."
) -> tuple[xr.Dataset, BuildSummary]:
    """Build a RegionData from raw files.

    Parameters
    ----------
    config
        The build settings (see :class:`BuildConfig`).
    base
        Folder that relative paths in ``config`` refer to (configs from
        :func:`load_build_config` already hold absolute paths).

    Returns
    -------
    (xarray.Dataset, BuildSummary)
        The validated RegionData (not yet written) and what was kept and dropped.

    Raises
    ------
    DataError, ConfigError
        Bad input files or settings; no station left after selection.
    """
    base = Path(base)
    candidates = _candidate_table(config.stations, base)
    flows = _read_flow(config, base, list(candidates.index))
    weather = _weather(config, base)
    days = pd.DatetimeIndex(weather["time"].values)
    flows = flows.reindex(time=days)
    flows = _fill_meta(flows, candidates)
    selection = select_stations(flows, config.selection)
    if not selection.kept:
        raise DataError(
            "no station passed the selection",
            variable="station",
            expected="at least one station",
            found="; ".join(f"{k}: {v}" for k, v in list(selection.dropped.items())[:10]),
        )
    flows = flows.sel(station=selection.kept)
    outlines = None
    if config.basins is not None:
        outlines = read_outlines(
            resolve_path(base, config.basins.path), config.basins.id_column, config.basins.layer
        )
    grid = Grid(lat=tuple(weather["lat"].values), lon=tuple(weather["lon"].values))
    masks = basin_masks(
        outlines,
        grid,
        station_ids=selection.kept,
        station_lon=flows["station_lon"].values,
        station_lat=flows["station_lat"].values,
        fallback_distance_deg=config.basins.fallback_distance_deg if config.basins else 1.0,
    )
    glacier = _glaciers(config, base, outlines, flows)
    region = _make(weather, flows, masks, glacier, config)
    summary = BuildSummary(
        kept=selection.kept,
        dropped=selection.dropped,
        missing=selection.missing,
        period=(str(days[0].date()), str(days[-1].date())),
        glacier_classes=glacier_classes(glacier),
        basin_fallback=[s for s in masks.attrs["fallback"].split(",") if s],
        regrid=str(weather.attrs.get("regrid", "")),
        recipe=config.era5.recipe,
    )
    return region, summary


def _make(
    weather: xr.DataArray,
    flows: xr.Dataset,
    masks: xr.DataArray,
    glacier: np.ndarray,
    config: BuildConfig,
) -> xr.Dataset:
    try:
        region = make_region(
            weather.transpose("time", "lat", "lon", "channel").values,
            weather["time"].values,
            weather["lat"].values,
            weather["lon"].values,
            flows["flow"].transpose("time", "station").values,
            [str(s) for s in flows["station"].values],
            names=flows["name"].values,
            station_lat=flows["station_lat"].values,
            station_lon=flows["station_lon"].values,
            glacier_fraction=glacier,
            area_km2=flows["area_km2"].values,
            basin_mask=masks.values,
            channels=[str(c) for c in weather["channel"].values],
            attrs={
                "source_weather": str(weather.attrs.get("sources", "")),
                "source_flow": str(flows.attrs.get("source", "")),
                "era5_recipe": config.era5.recipe,
                "regrid": str(weather.attrs.get("regrid", "")),
                "selection": config.selection.model_dump_json(),
            },
        )
    except DataError as exc:  # name the input files rather than "<memory>"
        sources = f"{weather.attrs.get('sources', '')}; {flows.attrs.get('source', '')}"
        raise exc.with_source(sources) from exc
    region = region.assign_coords(
        province=("station", flows["province"].values.astype(str).astype(object)),
        regulated=("station", flows["regulated"].values.astype(float)),
    )
    if "flow_symbol" in flows:
        region["flow_symbol"] = (
            ("time", "station"),
            flows["flow_symbol"].fillna("").values.astype(str).astype(object),
            {"long_name": "WSC data symbol"},
        )
    return region


def build_region_file(
    config_path: str | os.PathLike[str], output: str | None = None
) -> tuple[Path, BuildSummary]:
    """Read a config, build the region and save it atomically; returns the path and summary."""
    config = load_build_config(config_path)
    region, summary = build_region_with_summary(config)
    target = Path(output) if output else Path(config.output)
    return save(region, target), summary
