"""The one shape of every interpretation experiment, and the registry that finds them.

An experiment is a pydantic model whose fields are its settings (unknown keys refused, every
field documented with unit and default) and whose call runs it::

    from hydrointerp.experiments.catalog import HeatMap, Perturbation
    result = HeatMap(perturbation=Perturbation(iters_total=200), target_step=7)(inputs)

Defining a subclass with a ``name`` registers it
(:func:`hydrointerp.experiments.catalog.registry`): the pipeline
(``experiments.run`` in a run config), the CLI (``hydrointerp experiment NAME --set key=value``),
the fidelity stage (:attr:`Experiment.scores`), the report (:attr:`Experiment.title`,
:attr:`Experiment.figures`) and the config validation all iterate over it. Adding an experiment is
one module with one subclass (and its plot function); see docs/architecture.md.

Shared settings (fields of every experiment):

``n_targets``    evaluation days: the last ``n_targets`` days with weather (default: all target
                 days of the given inputs; the pipeline and the CLI then load the last 365)
``target_step``  keep every n-th of them (default 1)
``members``      use only the first N ensemble members (default all)
``simulator``    also run on the simulator when the region has truth (default true)

``quick`` (a run config's ``experiments.quick`` or the CLI's ``--quick``) means one thing: the
experiment's :attr:`Experiment.quick` settings under the given ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.inputs import ExperimentInputs

#: evaluation days the pipeline and the CLI load when ``n_targets`` is not set
DEFAULT_TARGETS = 365

#: A fidelity scorer: the files of one experiment in a run (a ``fidelity.bundle.Bundle``)
#: -> score rows.
Scorer = Callable[[Any], list[Any]]


@dataclass(frozen=True)
class Figure:
    """A figure an experiment draws from its result.

    ``draw(result, path) -> path``; ``stem``: the file name (``figures/<stem>.png``, suffixed
    ``_<method>`` for a method other than the perturbation); ``caption``: what it shows (the
    report's caption, matched by the stem's start).
    """

    draw: Callable[[xr.Dataset, Path], Any]
    stem: str
    caption: str


_REGISTRY: dict[str, type[Experiment]] = {}


def registered() -> Mapping[str, type[Experiment]]:
    """Every experiment defined so far by name, in definition order (the ordered view with
    the built-ins first is :func:`hydrointerp.experiments.catalog.registry`)."""
    return _REGISTRY


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested mappings merge key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def validation_message(exc: ValidationError, prefix: str) -> str:
    """One line per error, each naming the full key path (``prefix.key.sub``)."""
    lines = []
    for err in exc.errors():
        path = ".".join([prefix, *(str(p) for p in err["loc"])])
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{path}'")
        else:
            lines.append(f"'{path}': {err['msg']}")
    return "; ".join(lines)


class Experiment(BaseModel):
    """Base of every interpretation experiment (subclass it and give it a ``name``).

    Subclasses implement :meth:`run`; the class variables say how the pipeline, the CLI, the
    fidelity stage and the report handle it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_targets: int | None = Field(
        None, ge=1, description="the last n target days (None: all the inputs'; loaders: 365)"
    )
    target_step: int = Field(1, ge=1, description="keep every n-th target day")
    members: int | None = Field(None, ge=1, description="first N ensemble members (None: all)")
    simulator: bool = Field(True, description="also run on the simulator of a virtual region")

    #: registered name (``experiments.run``, ``hydrointerp experiment NAME``)
    name: ClassVar[str] = ""
    #: result file stem: ``experiments/<file>.nc``
    file: ClassVar[str] = ""
    #: the report section's title
    title: ClassVar[str] = ""
    #: settings of a quick run, under the given ones
    quick: ClassVar[Mapping[str, Any]] = {}
    #: runs on the simulator too (its truth)
    on_simulator: ClassVar[bool] = True
    #: fidelity controls it supports (hydrointerp.fidelity.controls)
    controls: ClassVar[tuple[str, ...]] = ("random_all",)
    #: figures drawn from the network's result
    figures: ClassVar[tuple[Figure, ...]] = ()
    #: the fidelity hook: scorer of each output file stem the experiment writes
    scores: ClassVar[Mapping[str, Scorer]] = {}
    #: takes a registered attribution method (``method``); see :class:`MapExperiment`
    takes_method: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "name" not in cls.__dict__ or not cls.name:
            return  # an abstract intermediate class
        if not cls.file:
            cls.file = cls.name
        _REGISTRY[cls.name] = cls

    # ------------------------------------------------------------------ settings
    @classmethod
    def from_settings(
        cls, values: Mapping[str, Any] | None = None, quick: bool = False, where: str = ""
    ) -> Experiment:
        """Validate settings (``quick`` ones under them); errors name ``where.key``.

        Raises
        ------
        ConfigError
            For an unknown key or an invalid value, naming its full key path.
        """
        merged = deep_merge(cls.quick if quick else {}, dict(values or {}))
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            prefix = where or f"experiments.settings.{cls.name}"
            raise ConfigError(validation_message(exc, prefix)) from None

    def record(self) -> dict[str, Any]:
        """The settings as plain JSON (written with the result; its resume key)."""
        return self.model_dump(mode="json")

    def own_settings(self) -> dict[str, Any]:
        """The experiment's own fields and values (not the shared ones of every experiment)."""
        return {
            k: getattr(self, k) for k in type(self).model_fields if k not in Experiment.model_fields
        }

    def reseeded(self, offset: int) -> Experiment:
        """The same experiment with independent random draws (seed + ``offset``)."""
        if "seed" in type(self).model_fields:
            return self.model_copy(update={"seed": self.seed + offset})  # type: ignore[attr-defined]
        return self

    def splits(self) -> bool:
        """True when the experiment's cost is perturbation sweeps that split into member x
        day-block tasks (:mod:`hydrointerp.experiments.sweep_tasks`): the pipeline then runs
        it in the stage and its sweeps' tasks on the workers."""
        return False

    def for_predictor(self, predictor: str) -> Experiment:
        """The settings used on ``predictor`` (``model`` or ``simulator``)."""
        return self

    def result_stem(self, predictor: str = "model") -> str:
        """File stem of the result on ``predictor``."""
        return self.file

    # ------------------------------------------------------------------ running
    def select(self, inputs: ExperimentInputs) -> ExperimentInputs:
        """The inputs this experiment reads: the last ``n_targets`` target days, every
        ``target_step``-th of them (``members`` is applied where the predictor is loaded)."""
        if self.n_targets is not None and len(inputs.target_times) > self.n_targets:
            inputs = replace(inputs, target_times=inputs.target_times[-self.n_targets :])
        return inputs.every_nth_target(self.target_step) if self.target_step > 1 else inputs

    def __call__(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Run the experiment on ``inputs``; the result is its ``experiments/<file>.nc``."""
        return self.run(self.select(inputs), progress)

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """The experiment proper, on already selected inputs."""
        raise NotImplementedError(f"{type(self).__name__} does not define run()")

    def truth_stems(self, region: xr.Dataset) -> tuple[str, ...]:
        """The stems of the further results :meth:`truth_outputs` writes on ``region`` (the
        run's artefacts, so a missing or replaced one makes the stage run again)."""
        return ()

    def truth_outputs(
        self, inputs: ExperimentInputs, result: xr.Dataset, region: xr.Dataset, seed: int = 0
    ) -> dict[str, xr.Dataset]:
        """Further results on a region with truth (``experiments/<stem>.nc`` by stem), one per
        stem of :meth:`truth_stems`."""
        return {}

    # ------------------------------------------------------------------ output
    def figure_stem(self, stem: str) -> str:
        """A figure's file stem for this experiment's method."""
        return stem

    def draw(self, result: xr.Dataset, fig_dir: Path) -> list[Path]:
        """Draw every figure of :attr:`figures`; return their paths."""
        out = []
        for fig in self.figures:
            path = Path(fig_dir) / f"{self.figure_stem(fig.stem)}.png"
            fig.draw(result, path)
            out.append(path)
        return out

    def summary(self, result: xr.Dataset) -> str:
        """A one-line summary of the result (printed by the CLI)."""
        return ""
