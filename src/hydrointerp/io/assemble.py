"""Build a RegionData (``region.nc``) from raw files, driven by a typed YAML config.

Steps: candidate stations -> daily flow (HYDAT or WSC CSV) -> station selection (METHODS.md 1.4)
-> ERA5 daily weather on the grid -> basin masks -> glacier fractions -> ``make_region``.
A template with every setting is ``hydrointerp/configs/build_region_template.yaml``; relative
paths in a config are relative to the config file's folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tqdm.auto import tqdm

from hydrointerp.data.region import make_region, save
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.io.era5 import MIN_WETTEST_MM, check_precip_units, read_era5
from hydrointerp.io.flow import SelectionRules, select_stations
from hydrointerp.io.geo import (
    basin_masks,
    glacier_fraction,
    read_glacier_fraction_table,
    read_glaciers,
    read_outlines,
)
from hydrointerp.io.grid import Grid
from hydrointerp.io.hydat import read_hydat
from hydrointerp.io.wsc import read_wsc_csv

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "configs" / "build_region_template.yaml"
_WSC_ID = re.compile(r"^\d{2}[A-Z]{2}\d{3}$")
GLACIER_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("G = 0", -np.inf, 0.0),
    ("0 < G <= 1 %", 0.0, 0.01),
    ("1 % < G <= 10 %", 0.01, 0.10),
    ("G > 10 %", 0.10, np.inf),
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Era5Settings(_Strict):
    """ERA5 files (paths or glob patterns) and the daily recipe."""

    paths: list[str]
    recipe: Literal["hourly", "published", "daily"] = "hourly"
    ranges: dict[Literal["tmax", "tmin", "precip"], tuple[float, float]] | None = Field(
        None, description="plausible (low, high) per channel in K / mm/day, over PLAUSIBLE"
    )
    min_wettest_mm: float = Field(
        MIN_WETTEST_MM, ge=0, description="smallest plausible wettest cell-day; 0: no check"
    )

    @field_validator("paths", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class FlowSettings(_Strict):
    """Where daily flow comes from: a HYDAT SQLite file or WSC CSV files."""

    source: Literal["hydat", "wsc_csv"]
    paths: list[str]
    layout: Literal["auto", "wsc", "date_flow", "wide"] = "auto"

    @field_validator("paths", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class StationSettings(_Strict):
    """Candidate stations: a list of ids and/or a candidate-list CSV (``*ActNatFlowAll.csv``)."""

    ids: list[str] | None = None
    file: str | None = None
    id_column: str = "Station"


class BasinSettings(_Strict):
    """Basin outlines (any vector file) keyed by ``id_column``."""

    path: str
    id_column: str | None = None
    layer: str | None = None
    fallback_distance_deg: float = Field(1.0, gt=0)


class GlacierSettings(_Strict):
    """Glaciers: an RGI 6.0/7.0 file (``path``) or a per-station table (``table``)."""

    path: str | None = None
    layer: str | None = None
    table: str | None = None
    id_column: str = "id"
    value_column: str = "glacier_fraction"


class PeriodSettings(_Strict):
    """The period of the region (inclusive dates); default: the span of the weather."""

    start: str | None = None
    end: str | None = None


class BuildConfig(_Strict):
    """The ``hydrointerp build-region`` config (unknown keys are errors)."""

    era5: Era5Settings
    flow: FlowSettings
    stations: StationSettings = StationSettings()
    grid: Grid | None = None
    period: PeriodSettings = PeriodSettings()
    selection: SelectionRules = SelectionRules()
    basins: BasinSettings | None = None
    glaciers: GlacierSettings | None = None
    output: str = "region.nc"


def parse_build_config(
    raw: dict, base: str | os.PathLike[str] = ".", source: str = "<memory>"
) -> BuildConfig:
    """Validate a build config given as a dict; relative paths are made absolute from ``base``."""
    try:
        config = BuildConfig.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{source}: invalid build config; " + "; ".join(lines)) from exc
    return _absolute(config, Path(base).resolve())


def load_build_config(path: str | os.PathLike[str]) -> BuildConfig:
    """Read and validate a build-config YAML; relative paths refer to the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: a build config must be a mapping, found {type(raw).__name__}")
    return parse_build_config(raw or {}, path.resolve().parent, str(path))


def _absolute(config: BuildConfig, base: Path) -> BuildConfig:
    def fix(value: str | None) -> str | None:
        return None if value is None else _resolve(base, value)

    updates: dict = {
        "era5": config.era5.model_copy(update={"paths": [fix(p) for p in config.era5.paths]}),
        "flow": config.flow.model_copy(update={"paths": [fix(p) for p in config.flow.paths]}),
        "stations": config.stations.model_copy(update={"file": fix(config.stations.file)}),
        "output": fix(config.output),
    }
    if config.basins is not None:
        updates["basins"] = config.basins.model_copy(update={"path": fix(config.basins.path)})
    if config.glaciers is not None:
        updates["glaciers"] = config.glaciers.model_copy(
            update={"path": fix(config.glaciers.path), "table": fix(config.glaciers.table)}
        )
    return config.model_copy(update=updates)


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


def _resolve(base: Path, value: str) -> str:
    return value if Path(value).is_absolute() else str(base / value)


def _candidate_table(settings: StationSettings, base: Path) -> pd.DataFrame:
    """Candidate ids (index) with optional Latitude/Longitude/DrainageArea/StationName."""
    frames = []
    if settings.file:
        path = Path(_resolve(base, settings.file))
        try:
            table = pd.read_csv(path, dtype=str, skipinitialspace=True, encoding="latin-1")
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot read CSV ({exc})", source=str(path)) from exc
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
    paths = [_resolve(base, p) for p in config.flow.paths]
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
    paths = [_resolve(base, p) for p in config.era5.paths]
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
            _resolve(base, settings.table), settings.id_column, settings.value_column
        )
        missing = [s for s in ids if s not in table.index]
        if missing:
            raise DataError(
                "stations missing from the glacier table",
                source=_resolve(base, settings.table),
                variable=settings.id_column,
                found=missing[:10],
            )
        return table.reindex(ids).to_numpy(dtype=float)
    if settings.path is None:
        raise ConfigError("glaciers: give path (RGI outlines) or table (per-station fractions)")
    rgi = read_glaciers(_resolve(base, settings.path), settings.layer)
    area = pd.Series(flows["area_km2"].values, index=ids)
    return glacier_fraction(rgi, outlines, area).values


def glacier_classes(values: np.ndarray) -> dict[str, int]:
    """Counts per glacier class (METHODS.md 1.5): G = 0, 0-1 %, 1-10 %, > 10 %."""
    values = np.asarray(values, dtype=float)
    return {name: int(((values > lo) & (values <= hi)).sum()) for name, lo, hi in GLACIER_CLASSES}


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
            _resolve(base, config.basins.path), config.basins.id_column, config.basins.layer
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
