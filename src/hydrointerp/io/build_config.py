"""The typed YAML config of ``hydrointerp build-region``: its settings and how it is read.

Unknown keys are errors. A template with every setting is
``hydrointerp/configs/build_region_template.yaml`` (:data:`TEMPLATE_PATH`); relative paths in a
config are relative to the config file's folder (:func:`load_build_config`) or to the ``base``
given to :func:`parse_build_config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from hydrointerp.errors import ConfigError
from hydrointerp.io.era5_checks import MIN_WETTEST_MM
from hydrointerp.io.era5_days import Recipe
from hydrointerp.io.flow import SelectionRules
from hydrointerp.io.grid import Grid

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "configs" / "build_region_template.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _listify(value: object) -> object:
    return [value] if isinstance(value, str) else value


#: One path or glob pattern, or a list of them (a single string becomes a one-item list).
Paths = Annotated[list[str], BeforeValidator(_listify)]


class Era5Settings(_Strict):
    """ERA5 files (paths or glob patterns) and the daily recipe."""

    paths: Paths
    recipe: Recipe = "hourly"
    ranges: dict[Literal["tmax", "tmin", "precip"], tuple[float, float]] | None = Field(
        None, description="plausible (low, high) per channel in K / mm/day, over PLAUSIBLE"
    )
    min_wettest_mm: float = Field(
        MIN_WETTEST_MM, ge=0, description="smallest plausible wettest cell-day; 0: no check"
    )


class FlowSettings(_Strict):
    """Where daily flow comes from: a HYDAT SQLite file or WSC CSV files."""

    source: Literal["hydat", "wsc_csv"]
    paths: Paths
    layout: Literal["auto", "wsc", "date_flow", "wide"] = "auto"


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
        return None if value is None else resolve_path(base, value)

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


def resolve_path(base: Path, value: str) -> str:
    """``value`` itself when absolute, else ``base / value``."""
    return value if Path(value).is_absolute() else str(base / value)
