"""Typed training settings (pydantic; unknown keys are errors). Defaults are the published ones.

A ``hydrointerp train CONFIG.yaml`` file looks like::

    name: demo
    data: virtual            # a region.nc path, "virtual" or "mini"
    virtual: {n_years: 12}   # VirtualRegionConfig settings when data = virtual
    windows: {lookback: 365, train_years: [1980, 2000], val_years: [2001, 2010], ...}
    model: {lstm_units: 80}
    train: {batch_size: 64, learning_rate: 1.0e-4, max_epochs: 200, patience: 5}
    ensemble: {members: 10}
    finetune: {enabled: true, n_clusters: 6}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from hydrointerp.data.windows import WindowSpec
from hydrointerp.device import DeviceName
from hydrointerp.errors import ConfigError
from hydrointerp.models.cnn_lstm import Architecture

#: Seeds of the ten published ensemble members (METHODS.md section 2.2).
PUBLISHED_SEEDS = (0, 11, 22, 33, 44, 55, 66, 77, 88, 99)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainSettings(_Strict):
    """Optimisation of one member (METHODS.md 2.2).

    ``restore_best``: ``"always"`` restores the best-validation weights at the end (default);
    ``"keras"`` reproduces Keras' quirk (METHODS.md 9.8): restore only when early stopping fired,
    keep the last weights when ``max_epochs`` is reached.
    ``sampler``: ``"blocks"`` (default; shuffled runs of consecutive targets that share days) or
    ``"random"`` (the published full shuffle).
    ``lr_schedule``: ``"constant"`` (published) or ``"cosine"``: the learning rate of epoch ``e``
    is ``learning_rate * (1 + cos(pi e / max_epochs)) / 2``, so the last epochs take small steps.
    ``grad_clip``: clip the global gradient norm of each batch to this value (off by default).
    ``validate_start``: also score the starting weights on the validation years, so that
    no epoch that is worse than the start is kept (useful when fine-tuning from a bulk head).
    ``device``: ``"cpu"`` (default) or a CUDA device (``"cuda"``, ``"cuda:1"``). The weather
    stays in host memory; each batch's distinct days are copied to the device. The same seed gives
    bit-identical weights on the CPU; on a GPU, cuDNN and atomic adds make runs agree only to
    float32 rounding.
    """

    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    adam_eps: float = Field(1e-7, gt=0)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    max_epochs: int = Field(200, ge=1)
    patience: int = Field(5, ge=1)
    restore_best: Literal["always", "keras"] = "always"
    sampler: Literal["blocks", "random"] = "blocks"
    eval_batch_size: int = Field(256, ge=1)
    num_threads: int | None = Field(None, ge=1)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_clip: float | None = Field(None, gt=0)
    validate_start: bool = False
    device: DeviceName = "cpu"
    progress: bool = True
    resume: bool = True


class ModelSettings(_Strict):
    """Architecture (published bulk model by default; ``n_out`` comes from the stations)."""

    conv_filters: tuple[int, ...] = (32, 16, 16, 32, 32)
    conv_kernels: tuple[int, ...] = (1, 3, 3, 3, 3)
    pool_after: int = 2
    dropout: float = Field(0.1, ge=0, lt=1)
    lstm_units: int = Field(80, ge=1)
    spatial_pool: tuple[int, int] | None = None
    day_features: int | None = Field(None, ge=1)

    def architecture(self, n_out: int, in_channels: int = 3) -> Architecture:
        """The :class:`Architecture` for ``n_out`` stations."""
        return Architecture(n_out=n_out, in_channels=in_channels, **self.model_dump())


class EnsembleSettings(_Strict):
    """Ensemble size and seeds (published: 10 members, seeds 0, 11, ..., 99)."""

    members: int = Field(10, ge=1)
    seeds: list[int] | None = None

    @model_validator(mode="after")
    def _check(self) -> EnsembleSettings:
        if self.seeds is not None and len(self.seeds) != self.members:
            raise ValueError(f"{len(self.seeds)} seeds given for {self.members} members")
        return self

    def member_seeds(self) -> list[int]:
        """One seed per member: the given ones, else 0, 11, 22, ... (published)."""
        return list(self.seeds) if self.seeds is not None else [11 * i for i in range(self.members)]


class FineTuneSettings(_Strict):
    """Per-cluster fine-tuning (METHODS.md 2.3): clusters from a CSV or computed (Ward)."""

    enabled: bool = False
    n_clusters: int = Field(6, ge=1)
    clusters_csv: str | None = None
    head_init: Literal["random", "bulk"] = "random"
    train: TrainSettings | None = None


class RunConfig(_Strict):
    """The whole ``hydrointerp train`` configuration."""

    name: str = "train"
    data: str = "virtual"
    virtual: dict = Field(default_factory=dict)
    out_dir: str | None = None
    windows: WindowSpec = Field(default_factory=WindowSpec)
    model: ModelSettings = Field(default_factory=ModelSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    ensemble: EnsembleSettings = Field(default_factory=EnsembleSettings)
    finetune: FineTuneSettings = Field(default_factory=FineTuneSettings)

    def finetune_train(self) -> TrainSettings:
        """Settings for the fine-tuning runs (default: the bulk settings)."""
        return self.finetune.train or self.train


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and validate a YAML run configuration.

    Raises
    ------
    ConfigError
        When the file is missing, is not YAML, or has unknown keys or invalid values.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from exc
    return parse_config(raw, str(p))


def parse_config(raw: dict, source: str = "<memory>") -> RunConfig:
    """Validate a config mapping; errors name every bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, found {type(raw)}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: invalid config ({problems})") from exc


def dump_config(config: RunConfig) -> str:
    """The resolved configuration as YAML (written into the run directory)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
