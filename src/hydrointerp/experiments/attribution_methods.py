"""The attribution methods in one registry, one layout: ``(station, time, lat, lon, channel)``
(the maps themselves: :mod:`hydrointerp.experiments.method_maps`).

Every method explains each station's output for each target day (``time``) by a map over the
grid, one per *channel group* (``channel``: a single input channel, or channels taken together,
e.g. ``tmax+tmin``). Families (docs/interpretation.md has a section per method):

* gradient (Captum ``Saliency``, ``InputXGradient``, ``IntegratedGradients``, ``GradientShap``,
  ``NoiseTunnel``): an attribution per input value of the window, reduced to the map by summing
  ``|attribution|`` (or the signed attribution, ``signed=True``) over the look-back days and the
  group's channels, and to ``attribution_by_lag(station, time, lag, channel)`` by summing over
  the grid instead, so a user sees where in the window the attribution mass sits;
* ablation (Captum ``Occlusion`` of grid cells, ``FeatureAblation`` of whole basins):
  ``y(x) - y(x with the cell or basin replaced by the baseline on every look-back day)``;
* mask (RISE-style binary random masks; the published Gaussian perturbation through its fast
  engine, :mod:`hydrointerp.experiments.engine`).

The ablation and mask families (:mod:`hydrointerp.experiments.record_attribution`) replace a
cell on every day of the record at once, read every target's window from that one copy and need
only ``predict_block``, so they also run on the virtual region's simulator; the gradient family
needs the networks (:func:`~hydrointerp.experiments.attribution.network_members`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydrointerp.errors import ConfigError


@dataclass(frozen=True)
class Method:
    """One registered method: how it is computed and what its map means."""

    name: str
    family: str  # "gradient", "ablation" or "mask"
    implementation: str
    baseline: str
    scaling: str  # the map of a linear model y = sum w x (documented known answer)
    params: tuple[str, ...] = ()


#: the family of the methods that need the networks' gradients
GRADIENT = "gradient"

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "perturbation",
            "mask",
            "PerturbationEngine (fast path)",
            "none (additive)",
            "mask-weighted mean |dy| of signed Gaussian bumps (not linear in w)",
        ),
        Method(
            "rise",
            "mask",
            "binary masks through PerturbationEngine.predict",
            "zero",
            "(1 - keep_prob) * sum_lag,ch w (x - b) per cell (independent cells)",
            ("n_masks", "keep_prob", "rise_cell", "ablation_baseline", "seed"),
        ),
        Method(
            "occlusion",
            "ablation",
            "captum.attr.Occlusion",
            "zero",
            "sum_lag,ch w (x - b) over the occluded patch",
            ("occlusion_size", "ablation_baseline"),
        ),
        Method(
            "basin_ablation",
            "ablation",
            "captum.attr.FeatureAblation",
            "zero",
            "sum_lag,ch w (x - b) over the cell's basin",
            ("ablation_baseline", "basin_source"),
        ),
        Method("saliency", GRADIENT, "captum.attr.Saliency (abs=True)", "none", "|w|"),
        Method(
            "input_x_gradient", GRADIENT, "captum.attr.InputXGradient", "zero (implicit)", "w x"
        ),
        Method(
            "integrated_gradients",
            GRADIENT,
            "captum.attr.IntegratedGradients",
            "zero",
            "w x",
            ("n_steps",),
        ),
        Method(
            "integrated_gradients_climatology",
            GRADIENT,
            "captum.attr.IntegratedGradients",
            "climatology",
            "w (x - climatology)",
            ("n_steps",),
        ),
        Method(
            "gradient_shap",
            GRADIENT,
            "captum.attr.GradientShap",
            "other days' windows",
            "w (x - mean baseline window), in expectation",
            ("n_samples", "n_baselines", "seed"),
        ),
        Method(
            "smoothgrad",
            GRADIENT,
            "captum.attr.NoiseTunnel(Saliency), smoothgrad",
            "none",
            "|w|",
            ("n_samples", "noise_std", "seed"),
        ),
    )
}
METHOD_NAMES = tuple(METHODS)
#: File-name suffix of each method's results (``""``: the published perturbation).
METHOD_SUFFIXES = {m: "" if m == "perturbation" else f"_{m}" for m in METHODS}
GRADIENT_METHODS = tuple(m for m, v in METHODS.items() if v.family == GRADIENT)
#: the integrated-gradients methods, whose maps should add up to f(x) - f(baseline)
#: (:mod:`hydrointerp.experiments.completeness`)
IG_METHODS = ("integrated_gradients", "integrated_gradients_climatology")
#: an IG map whose summed completeness gap is above this is not converged (its fidelity rows
#: are flagged ``not_converged``): its parts do not add up to the change they explain
COMPLETENESS_TOL = 0.05
ABLATION_BASELINES = ("zero", "climatology")
BASIN_SOURCES = ("basin_mask", "in_near")


def result_name(name: str, method: str) -> str:
    """``name`` of an experiment's result file for ``method`` (``heat_map_saliency``...)."""
    check_method(method)
    return f"{name}{METHOD_SUFFIXES[method]}"


def check_method(method: str) -> None:
    """Raise a ConfigError unless ``method`` is registered."""
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHOD_NAMES}, got {method!r}")


@dataclass(frozen=True)
class AttributionSettings:
    """Settings of the registered methods (each method reads those in its ``params``).

    ``n_steps``: integration steps of integrated gradients (Gauss-Legendre). ``n_samples``:
    noisy copies (SmoothGrad) or (baseline, alpha) draws (GradientShap). ``n_baselines``:
    windows of other days forming the GradientShap baseline distribution. ``noise_std``:
    SmoothGrad noise in training standard deviations. ``n_masks``, ``keep_prob``, ``rise_cell``:
    RISE masks (cells kept with ``keep_prob``, drawn on blocks of ``rise_cell`` cells with a
    random shift). ``occlusion_size``: side of the occluded square patch (cells).
    ``ablation_baseline``: value of occluded/masked cells, ``zero`` (the training mean) or
    ``climatology`` (the day-of-year mean of the inputs). ``basin_source``: station table
    variable giving the basins. ``signed``: keep signs when reducing (default: magnitudes).
    ``batch``: model evaluations per Captum call (memory bound). ``mask_chunk``: masked copies
    of the record per engine call.
    """

    n_steps: int = 16
    n_samples: int = 16
    n_baselines: int = 16
    noise_std: float = 0.1
    n_masks: int = 200
    keep_prob: float = 0.5
    rise_cell: int = 1
    occlusion_size: int = 1
    ablation_baseline: str = "zero"
    basin_source: str = "basin_mask"
    signed: bool = False
    batch: int = 16
    mask_chunk: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ablation_baseline not in ABLATION_BASELINES:
            raise ConfigError(
                f"ablation_baseline must be one of {ABLATION_BASELINES},"
                f" got {self.ablation_baseline!r}"
            )
        if self.basin_source not in BASIN_SOURCES:
            raise ConfigError(
                f"basin_source must be one of {BASIN_SOURCES}, got {self.basin_source!r}"
            )
        if not 0.0 < self.keep_prob < 1.0:
            raise ConfigError(f"keep_prob must lie in (0, 1), got {self.keep_prob}")
        small = {
            k: getattr(self, k)
            for k in (
                "n_steps",
                "n_samples",
                "n_baselines",
                "n_masks",
                "rise_cell",
                "occlusion_size",
                "batch",
            )
        }
        bad = {k: v for k, v in small.items() if int(v) < 1}
        if bad:
            raise ConfigError(f"attribution settings must be >= 1, got {bad}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None = None, **defaults: Any) -> Any:
        """Settings from an experiment's ``attribution`` options (unknown keys are errors)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options or {}) - known)
        if unknown:
            raise ConfigError(f"unknown attribution setting {unknown[0]!r}; known: {sorted(known)}")
        return cls(**{**defaults, **dict(options or {})})
