"""The shared base of the map experiments: heat map, Experiment 1 and Experiment 2.

Each includes the :class:`~hydrointerp.experiments.perturbation.Perturbation` block and takes a
registered attribution ``method`` (:mod:`hydrointerp.experiments.attribution_methods`). Other
than the published ``perturbation``, the network's results are ``<file>_<method>.nc`` (figures
likewise suffixed) and the method's maps replace the Gaussian masks; the simulator's truth keeps
``<file>.nc`` and uses the perturbation when the method needs gradients (the simulator has none).
"""

from __future__ import annotations

from typing import Any, ClassVar

import xarray as xr
from pydantic import Field, field_validator

from hydrointerp.experiments.attribution_methods import (
    GRADIENT_METHODS,
    AttributionSettings,
    check_method,
    result_name,
)
from hydrointerp.experiments.base import Experiment
from hydrointerp.experiments.completeness import completeness_attrs
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.perturbation import Perturbation

#: fidelity controls of the perturbation-map experiments (hydrointerp.fidelity.controls)
MAP_CONTROLS = ("simulator_b", "model_b", "random_head", "random_lstm", "random_all")


class MapExperiment(Experiment):
    """An experiment that maps the network's sensitivity over the grid."""

    perturbation: Perturbation = Perturbation()
    method: str = Field("perturbation", description="a registered attribution method")
    n_steps: int = Field(16, ge=1, description="integration steps of integrated gradients")
    attribution: dict[str, Any] = Field(
        default_factory=dict, description="AttributionSettings options of the method"
    )

    takes_method: ClassVar[bool] = True
    controls: ClassVar[tuple[str, ...]] = MAP_CONTROLS
    quick: ClassVar[dict[str, Any]] = {
        "perturbation": {"iters_one_pass": 10, "iters_total": 20},
        "target_step": 3,
    }

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        try:
            check_method(value)
        except Exception as exc:  # ConfigError -> a validation error with the key path
            raise ValueError(str(exc)) from None
        return value

    @field_validator("attribution")
    @classmethod
    def _attribution(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            AttributionSettings.from_options(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return value

    def __call__(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Run the experiment on ``inputs``; an integrated-gradients result also records its
        own completeness check (:func:`~hydrointerp.experiments.completeness.
        completeness_attrs`), which the fidelity rows read (``not_converged`` above the
        tolerance)."""
        chosen = self.select(inputs)
        result = self.run(chosen, progress)
        result.attrs.update(completeness_attrs(chosen, self.method, self.attribution_settings()))
        return result

    def attribution_settings(self) -> AttributionSettings:
        """The settings of the attribution method (``attribution``, ``n_steps``, the seed)."""
        return AttributionSettings.from_options(
            self.attribution, n_steps=self.n_steps, seed=self.perturbation.seed
        )

    def record(self) -> dict[str, Any]:
        """The settings as JSON; the published path leaves out the method's settings."""
        out = super().record()
        if self.method == "perturbation":
            for key in ("method", "n_steps", "attribution"):
                out.pop(key)
        return out

    def reseeded(self, offset: int) -> MapExperiment:
        """Independent draws of the masks (and of a stochastic method)."""
        return self.model_copy(update={"perturbation": self.perturbation.reseeded(offset)})

    def splits(self) -> bool:
        """The published perturbation's sweeps split into member x day-block tasks, the
        gradient methods into day-block tasks (:mod:`hydrointerp.experiments.sweep_tasks`)."""
        return self.method == "perturbation" or self.method in GRADIENT_METHODS

    def for_predictor(self, predictor: str) -> MapExperiment:
        """The simulator has no gradients: its truth uses the perturbation for gradient methods."""
        if predictor == "simulator" and self.method in GRADIENT_METHODS:
            return self.model_copy(update={"method": "perturbation"})
        return self

    def with_method(self, method: str) -> MapExperiment:
        """The same experiment with another attribution method."""
        check_method(method)
        return self.model_copy(update={"method": method})

    def result_stem(self, predictor: str = "model") -> str:
        """``<file>_<method>`` for the network's runs of a method, else ``<file>``."""
        return self.file if predictor == "simulator" else result_name(self.file, self.method)

    def figure_stem(self, stem: str) -> str:
        """Figures of a method other than the perturbation are suffixed with its name."""
        return result_name(stem, self.method)
