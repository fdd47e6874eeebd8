"""The run configuration of ``hydrointerp run``: one typed, validated YAML file per study.

Every section is a pydantic model with ``extra="forbid"``: an unknown or misspelt key is a
:class:`~hydrointerp.errors.ConfigError` that names the key's full path (``ensemble.trian``).
Sections owned by other modules (the virtual region's settings, the training settings, each
experiment's settings) are kept as mappings here and validated by those modules' own config
classes when the config is loaded, so the same key-path errors come back.

Built-in configs are found by name (``demo``, ``reproduce-mini``, ``tiny``) in
``hydrointerp/configs/``; ``region_template.yaml`` documents a run on a user's own region.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hydrointerp.atomic import write_text
from hydrointerp.data.twin import TwinConfig
from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.device import DeviceName
from hydrointerp.errors import ConfigError
from hydrointerp.experiments.attribution_methods import METHODS
from hydrointerp.experiments.base import Experiment
from hydrointerp.experiments.catalog import experiment_class, registry
from hydrointerp.experiments.sweep_tasks import DEFAULT_TASK_MEMORY_MB
from hydrointerp.models.cnn_lstm import Architecture
from hydrointerp.published import member_seed
from hydrointerp.training.config import TrainSettings

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
BUILTIN = (
    "demo",
    "reproduce-mini",
    "tiny",
    "fidelity",
    "benchmark",
    "reproduce-twin",
    "twin-reduced",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VirtualData(_Strict):
    """A virtual region from the process simulator (truth known)."""

    source: Literal["virtual"]
    region: dict[str, Any] = Field(
        default_factory=dict, description="VirtualRegionConfig fields (data/virtual.py)"
    )


class TwinData(_Strict):
    """The virtual twin of the published region (226 real gauges, truth known)."""

    source: Literal["twin"]
    twin: dict[str, Any] = Field(
        default_factory=dict, description="TwinConfig fields (data/twin.py)"
    )
    shared: str | None = Field(None, description="shared folder; default --shared or ../shared")


class MiniData(_Strict):
    """The published mini year (2011) in ``shared/data/cnn_lstm_era/mini``."""

    source: Literal["mini"]
    shared: str | None = Field(None, description="shared folder; default --shared or ../shared")


class RawData(_Strict):
    """A user's region built from raw ERA5 + HYDAT/WSC + basins + RGI (``build-region``)."""

    source: Literal["raw"]
    build: str | dict[str, Any] = Field(
        ..., description="path of a build-region YAML (relative to this file) or its contents"
    )


DataSection = Annotated[VirtualData | TwinData | MiniData | RawData, Field(discriminator="source")]


class Split(_Strict):
    """Train / validation / test periods: inclusive ranges ``[first, last]`` of the calendar
    years of the *target* days. A period left out (``None``, the default) is filled from the
    region's years by :func:`hydrointerp.data.windows.resolve_split`."""

    train: tuple[int, int] | None = Field(None, description="training years; default from data")
    val: tuple[int, int] | None = Field(None, description="validation years (early stopping)")
    test: tuple[int, int] | None = Field(None, description="test years (skill, experiments)")

    def years(self, name: str) -> tuple[int, int]:
        """The ``[first, last]`` years of split ``name`` (``train``, ``val`` or ``test``).

        Raises
        ------
        ConfigError
            When the period is not set (resolve the split against the region first).
        """
        value = getattr(self, name)
        if value is None:
            raise ConfigError(
                f"windows.split.{name} is not set; expected: [first year, last year] (give it,"
                " or resolve the split against the region with data.windows.resolve_split)"
            )
        return (int(value[0]), int(value[1]))


class WindowSpec(_Strict):
    """Look-back windows and the split by years: the one window spec of the run config and of
    :func:`hydrointerp.data.windows.make_windows`. Defaults are the published ones (METHODS.md
    1.6) except the split, which comes from the data unless given."""

    lookback: int = Field(365, ge=1, description="days of weather before each target day")
    split: Split = Split()
    missing_flow: Literal["mask", "climatology"] = Field(
        "mask", description="missing target days: left out of the loss, or filled (METHODS 1.4)"
    )
    normalise_years: tuple[int, int] | None = Field(
        None,
        description="years the normaliser is fitted on; default: the first training year minus"
        " enough years for one look-back, through the last training year (published 1979-2000)",
    )
    float16_inputs: bool = Field(
        False, description="round the frames through float16, as the published windows were"
    )

    def fit_years(self) -> tuple[int, int]:
        """Years the normaliser is fitted on (needs the training years)."""
        if self.normalise_years is not None:
            return (int(self.normalise_years[0]), int(self.normalise_years[1]))
        first, last = self.split.years("train")
        return (first - math.ceil(self.lookback / 365.0), last)


class FineTune(_Strict):
    """Per-cluster fine-tuning of every bulk member (training/finetune.py)."""

    enabled: bool = True
    n_clusters: int = Field(6, ge=1)
    head_init: Literal["random", "bulk"] = Field(
        "random", description="random new head (published) or the bulk head's station rows"
    )
    training: dict[str, Any] = Field(
        default_factory=dict, description="TrainSettings fields; default: ensemble.training"
    )


class ImportModels(_Strict):
    """Published (or previously trained) models to import instead of training."""

    models_dir: str | None = Field(None, description="default: shared/data/cnn_lstm_era/models")
    kind: Literal["bulk", "fine"] = "fine"
    n_clusters: int = 6


def published_seeds(members: int) -> list[int]:
    """The seeds of the published ensemble's first ``members`` members: 0, 11, 22, ..., 99 for
    the ten of METHODS.md section 2.2 (member ``i`` has seed ``11 i``)."""
    return [member_seed(i) for i in range(members)]


class EnsembleSection(_Strict):
    """Train an ensemble (and fine-tune it) or import published models."""

    mode: Literal["train", "import"] = "train"
    members: int = Field(3, ge=1)
    seeds: list[int] | None = None
    training: dict[str, Any] = Field(
        default_factory=dict, description="TrainSettings fields (training/config.py)"
    )
    model: dict[str, Any] = Field(
        default_factory=dict,
        description="Architecture fields (models/cnn_lstm.py) but n_out and in_channels",
    )
    fine_tune: FineTune = FineTune()
    import_: ImportModels = Field(ImportModels(), alias="import")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def member_seeds(self) -> list[int]:
        """The seed of every member: given, or the published ones (:func:`published_seeds`)."""
        if self.seeds is not None:
            if len(self.seeds) != self.members:
                raise ConfigError(
                    f"ensemble.seeds has {len(self.seeds)} values; expected"
                    f" ensemble.members = {self.members}"
                )
            return list(self.seeds)
        return published_seeds(self.members)


class ExperimentsSection(_Strict):
    """Which experiments run, each with its own settings, and the quick switch.

    ``run``: registered experiment names (:func:`hydrointerp.experiments.catalog.registry`), in
    any order (they run in the registry's order). ``settings.<name>``: the fields of that
    experiment's class (e.g. ``heat_map: {perturbation: {iters_total: 200}, target_step: 7}``).
    ``quick``: each experiment's own quick settings under the given ones. ``output_format``:
    ``netcdf`` (``experiments/<file>.nc``) or ``zarr`` (``experiments/<file>.zarr`` stores, for
    large results; the fidelity stage and the report read them lazily). ``task_memory_mb``:
    the per-task memory budget (MiB, default 2048) that sizes the member x day-block tasks of
    the perturbation sweeps (docs/scaling.md); ``task_block_days`` fixes their block instead.
    """

    run: list[str] = Field(default_factory=lambda: ["heat_map", "daily", "channels"])
    quick: bool = False
    ensemble: Literal["bulk", "fine"] = "fine"
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    output_format: Literal["netcdf", "zarr"] = "netcdf"
    #: per-task memory budget (MiB) of the perturbation sweeps' member x day-block tasks
    #: (hydrointerp.experiments.sweep_tasks; results do not depend on it)
    task_memory_mb: float = Field(DEFAULT_TASK_MEMORY_MB, gt=0)
    #: a fixed block of target days per task instead of the budget's (tests, benchmarks)
    task_block_days: int | None = Field(None, ge=1)

    @field_validator("run", "settings")
    @classmethod
    def _known(cls, value: Any) -> Any:
        known = registry()
        unknown = [n for n in value if n not in known]
        if unknown:
            raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(known)}")
        return value

    def experiment(self, name: str) -> Experiment:
        """The validated experiment ``name`` with this section's settings (and ``quick``)."""
        return experiment_class(name).from_settings(self.settings.get(name, {}), self.quick)

    def chosen(self) -> list[Experiment]:
        """The experiments of ``run``, validated, in the registry's order."""
        return [self.experiment(n) for n in registry() if n in self.run]


#: the control runs of the fidelity stage (hydrointerp.fidelity.controls defines each)
ControlName = Literal[
    "simulator_b", "model_b", "random_head", "random_lstm", "random_all", "contribution"
]


class FidelitySection(_Strict):
    """Score each interpretation against the simulator's truth (virtual regions only).

    ``controls`` are the extra runs each experiment makes for its scores (where the experiment
    supports them; docs/fidelity.md): ``simulator_b`` (a second independent truth: the noise
    ceiling), ``model_b`` (the network with independent masks: its self-agreement),
    ``random_head``/``random_lstm``/``random_all`` (the cascading model-parameter randomisation;
    ``random_all`` is the untrained network, also a baseline) and ``contribution`` (the exact
    additive truth of the map experiments). ``cascade`` lists the experiments that run the two
    partial randomisation levels (default: the map experiments); ``control_experiments`` the
    experiments that run any control (default all; the demo limits them to the heat map to stay
    in its budget). ``methods``: further attribution methods (registered names, e.g.
    ``integrated_gradients``, ``saliency``) that the map experiments also run on the network
    (``experiments/<file>_<method>.nc``) and, with ``random_all`` among the controls, on the
    untrained network, so the fidelity table ranks them on the same truth; they run for the
    experiments of ``method_experiments`` (default the heat map; gradients over 27 days of
    Experiments 1 and 2 cost minutes per method). ``n_boot``: bootstrap resamples of every
    interval.
    """

    enabled: bool = True
    controls: list[ControlName] = Field(
        default_factory=lambda: [
            "simulator_b",
            "model_b",
            "random_head",
            "random_lstm",
            "random_all",
            "contribution",
        ]
    )
    cascade: list[str] = Field(default_factory=lambda: ["heat_map", "daily", "channels"])
    control_experiments: list[str] | None = None
    methods: list[str] = Field(default_factory=list)
    method_experiments: list[str] = Field(default_factory=lambda: ["heat_map"])
    n_boot: int = Field(1000, ge=0)


class BaselineSection(_Strict):
    """The lumped-LSTM baseline (neuralhydrology's cudalstm on basin-averaged forcings)."""

    enabled: bool = False
    hidden_size: int = Field(32, ge=1)
    seq_length: int | None = Field(None, ge=2, description="days; default: windows.lookback")
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(0.003, gt=0)
    num_threads: int = Field(1, ge=1)


class ReportSection(_Strict):
    """The HTML report."""

    enabled: bool = True
    title: str | None = None
    embed_images: bool = True
    compare_published: bool = False


class Grade(_Strict):
    """One condition of the attribution benchmark: the run's own recipe with these changes,
    run as a complete study of its own (``RUN_DIR/grades/<name>/``).

    A grade is a model quality (fewer or more epochs, bulk or fine-tuned models) or a region
    condition (``region``: e.g. more glacier cover), so the benchmark table shows how the
    fidelity of each interpretation changes with the network's skill and the region.
    """

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    ensemble: Literal["bulk", "fine"] = Field(
        "fine", description="the models interpreted: bulk, or fine-tuned per cluster"
    )
    training: dict[str, Any] = Field(
        default_factory=dict, description="TrainSettings fields replacing ensemble.training's"
    )
    members: int | None = Field(None, ge=1, description="default: ensemble.members")
    seeds: list[int] | None = None
    region: dict[str, Any] = Field(
        default_factory=dict, description="VirtualRegionConfig fields replacing data.region's"
    )
    experiments: list[str] | None = Field(
        None, description="a subset of experiments.run for this grade (default: all of them)"
    )
    methods: list[str] | None = Field(
        None, description="fidelity.methods for this grade (default: the config's)"
    )


class BenchmarkSection(_Strict):
    """The attribution benchmark (``hydrointerp run benchmark``, docs/benchmark.md): every
    grade is a study of its own with the run's data, experiments, methods and fidelity; the
    benchmark stage puts their fidelity tables side by side (``benchmark.csv``). Empty
    ``grades``: an ordinary study."""

    grades: list[Grade] = Field(default_factory=list)

    @field_validator("grades")
    @classmethod
    def _unique(cls, value: list[Grade]) -> list[Grade]:
        names = [g.name for g in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"grade names must be unique; {twice[0]!r} is used twice")
        return value


class RunConfig(_Strict):
    """A whole study: data -> windows -> ensemble -> experiments -> fidelity -> report."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = 0
    device: DeviceName = "cpu"
    data: DataSection
    windows: WindowSpec = WindowSpec()
    ensemble: EnsembleSection = EnsembleSection()
    experiments: ExperimentsSection = ExperimentsSection()
    fidelity: FidelitySection = FidelitySection()
    baseline: BaselineSection = BaselineSection()
    report: ReportSection = ReportSection()
    benchmark: BenchmarkSection = BenchmarkSection()
    workers: int = Field(1, ge=1)
    scheduler: str | None = None

    def section(self, name: str) -> Any:
        """The plain-JSON form of one top-level section (used for fingerprints)."""
        return self.model_dump(mode="json", by_alias=True)[name]

    def to_yaml(self) -> str:
        """The resolved config as YAML (every default filled in)."""
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True), sort_keys=False)


def _key_path(loc: tuple) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in _UNION_TAGS)]
    return ".".join(parts)


_UNION_TAGS = {"virtual", "twin", "mini", "raw"}


def _as_config_error(exc: ValidationError, source: str, prefix: str = "") -> ConfigError:
    lines = []
    for err in exc.errors():
        path = ".".join(p for p in (prefix, _key_path(err["loc"])) if p)
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{path}'")
        else:
            lines.append(f"'{path}': {err['msg']}")
    return ConfigError(f"invalid config {source}: " + "; ".join(lines))


def _check_owned(cfg: RunConfig, source: str) -> None:
    """Validate the sections owned by other modules with their own config classes."""
    checks: list[tuple[str, type[BaseModel], dict]] = []
    if isinstance(cfg.data, VirtualData):
        checks.append(("data.region", VirtualRegionConfig, cfg.data.region))
    if isinstance(cfg.data, TwinData):
        checks.append(("data.twin", TwinConfig, cfg.data.twin))
    checks += [
        ("ensemble.training", TrainSettings, cfg.ensemble.training),
        ("ensemble.fine_tune.training", TrainSettings, cfg.ensemble.fine_tune.training),
    ]
    for i, grade in enumerate(cfg.benchmark.grades):
        checks.append((f"benchmark.grades.{i}.training", TrainSettings, grade.training))
        if grade.region:
            if not isinstance(cfg.data, VirtualData):
                raise ConfigError(
                    f"invalid config {source}: 'benchmark.grades.{i}.region' needs a virtual"
                    f" region (data.source: virtual), found data.source: {cfg.data.source}"
                )
            merged = {**cfg.data.region, **grade.region}
            checks.append((f"benchmark.grades.{i}.region", VirtualRegionConfig, merged))
    for path, owner, values in checks:
        try:
            owner.model_validate(values)
        except ValidationError as exc:
            raise _as_config_error(exc, source, prefix=path) from None
    try:
        Architecture.for_region(cfg.ensemble.model, n_out=1)
    except ValidationError as exc:
        raise _as_config_error(exc, source, prefix="ensemble.model") from None
    except ConfigError as exc:
        raise ConfigError(f"invalid config {source}: {exc}") from None


def _check_methods(methods: list[str], key: str) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(
            f"unknown attribution method {unknown[0]!r} in '{key}'; known: " + ", ".join(METHODS)
        )


def check_experiments(cfg: RunConfig, source: str) -> None:
    """Every experiment's settings and every name of the fidelity section, in one pass."""
    try:
        for name in {*cfg.experiments.run, *cfg.experiments.settings}:
            cfg.experiments.experiment(name)
        fid = cfg.fidelity
        _check_methods(fid.methods, "fidelity.methods")
        for i, grade in enumerate(cfg.benchmark.grades):
            _check_methods(grade.methods or [], f"benchmark.grades.{i}.methods")
            extra = [n for n in grade.experiments or [] if n not in cfg.experiments.run]
            if extra:
                raise ConfigError(
                    f"'benchmark.grades.{i}.experiments' names {extra[0]!r}, which is not in"
                    f" experiments.run ({cfg.experiments.run})"
                )
        for key in ("cascade", "control_experiments", "method_experiments"):
            for name in getattr(fid, key) or []:
                experiment_class(name, f"experiment in 'fidelity.{key}'")
    except ConfigError as exc:
        raise ConfigError(f"invalid config {source}: {exc}") from None


def parse_config(values: dict[str, Any], source: str = "<memory>") -> RunConfig:
    """Validate a mapping into a :class:`RunConfig`.

    Raises
    ------
    ConfigError
        Naming every unknown key by its path and every invalid value.
    """
    if not isinstance(values, dict):
        raise ConfigError(
            f"config {source}: expected a mapping at the top level, found {type(values).__name__}"
        )
    try:
        cfg = RunConfig.model_validate(values)
    except ValidationError as exc:
        raise _as_config_error(exc, source) from None
    _check_owned(cfg, source)
    check_experiments(cfg, source)
    cfg.ensemble.member_seeds()
    return cfg


def builtin_path(name: str) -> Path:
    """Path of a built-in config (``demo``, ``reproduce-mini``, ``tiny``, ``region_template``)."""
    return CONFIG_DIR / f"{name}.yaml"


def load_config(spec: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Load a run config from a YAML path or a built-in name, with top-level overrides.

    Parameters
    ----------
    spec
        ``path/to/run.yaml`` or one of :data:`BUILTIN`.
    overrides
        Top-level keys replacing the file's (e.g. ``{"workers": 2}``); ``None`` values ignored.
    """
    path = Path(spec)
    if not path.suffix and str(spec) in (*BUILTIN, "region_template"):
        path = builtin_path(str(spec))
    if not path.is_file():
        raise ConfigError(
            f"config not found: {spec}; expected a YAML file or one of {', '.join(BUILTIN)}"
        )
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    if isinstance(values, dict):
        values = _resolve_relative(values, path.parent)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_config(values, str(path))


def _resolve_relative(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make a raw-data build config path relative to the run config's folder absolute."""
    data = values.get("data")
    if isinstance(data, dict) and isinstance(data.get("build"), str):
        build = Path(data["build"])
        if not build.is_absolute():
            data = {**data, "build": str((base / build).resolve())}
            values = {**values, "data": data}
    return values


def write_resolved(cfg: RunConfig, path: str | Path) -> Path:
    """Write the resolved config (all defaults filled) atomically."""
    return write_text(path, cfg.to_yaml())


def fingerprint(*parts: Any) -> str:
    """A short, stable hash of JSON-serialisable parts (config sections, upstream hashes)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
