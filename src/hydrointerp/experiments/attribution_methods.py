"""The attribution methods in one registry and one layout: ``(station, time, lat, lon, channel)``.

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

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr
from captum.attr import (
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from torch import nn
from tqdm.auto import tqdm

from hydrointerp.errors import ConfigError, DataError
from hydrointerp.experiments.attribution import (
    StationOutput,
    gradient_guard,
    module_device,
    network_members,
)
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.record_attribution import (
    ablation_maps,
    climatology_record,
    perturbation_maps,
    rise_maps,
)


@dataclass(frozen=True)
class Method:
    """One registered method: how it is computed and what its map means."""

    name: str
    family: str  # "gradient", "ablation" or "mask"
    implementation: str
    baseline: str
    scaling: str  # the map of a linear model y = sum w x (documented known answer)
    params: tuple[str, ...] = ()


_GRAD = "gradient"
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
        Method("saliency", _GRAD, "captum.attr.Saliency (abs=True)", "none", "|w|"),
        Method("input_x_gradient", _GRAD, "captum.attr.InputXGradient", "zero (implicit)", "w x"),
        Method(
            "integrated_gradients",
            _GRAD,
            "captum.attr.IntegratedGradients",
            "zero",
            "w x",
            ("n_steps",),
        ),
        Method(
            "integrated_gradients_climatology",
            _GRAD,
            "captum.attr.IntegratedGradients",
            "climatology",
            "w (x - climatology)",
            ("n_steps",),
        ),
        Method(
            "gradient_shap",
            _GRAD,
            "captum.attr.GradientShap",
            "other days' windows",
            "w (x - mean baseline window), in expectation",
            ("n_samples", "n_baselines", "seed"),
        ),
        Method(
            "smoothgrad",
            _GRAD,
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
GRADIENT_METHODS = tuple(m for m, v in METHODS.items() if v.family == _GRAD)
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


# ------------------------------------------------------------------------- window level
def _evaluations(method: str, s: AttributionSettings) -> int:
    """Model evaluations per explained window (for batching)."""
    if method.startswith("integrated_gradients"):
        return s.n_steps
    return s.n_samples if method in ("gradient_shap", "smoothgrad") else 1


def window_attribution(
    method: str,
    model: nn.Module,
    x: torch.Tensor,
    targets: Sequence[int],
    settings: AttributionSettings | None = None,
    baselines: torch.Tensor | None = None,
) -> torch.Tensor:
    """Captum attribution ``[B, T, H, W, C]`` of output ``targets[b]`` for windows ``x[B, ...]``.

    ``baselines``: integrated gradients' start windows (same shape as ``x``; default zeros), or
    GradientShap's baseline distribution ``[K, T, H, W, C]`` (required). Runs under
    :func:`~hydrointerp.experiments.attribution.gradient_guard` of the model's device.
    """
    if method not in GRADIENT_METHODS:
        raise ConfigError(
            f"window_attribution needs a gradient method {GRADIENT_METHODS}, got {method!r}"
        )
    s = settings or AttributionSettings()
    f = StationOutput(model)
    dev = module_device(model)
    x = x.to(dev).detach().clone().requires_grad_(True)
    target = [int(t) for t in targets]
    with gradient_guard(dev):
        if method == "saliency":
            attr = Saliency(f).attribute(x, target=target, abs=True)
        elif method == "input_x_gradient":
            attr = InputXGradient(f).attribute(x, target=target)
        elif method == "smoothgrad":
            attr = NoiseTunnel(Saliency(f)).attribute(
                x,
                nt_type="smoothgrad",
                nt_samples=s.n_samples,
                stdevs=s.noise_std,
                nt_samples_batch_size=s.batch,
                target=target,
                abs=True,
            )
        elif method == "gradient_shap":
            if baselines is None:
                raise ConfigError("gradient_shap needs a baseline distribution [K, T, H, W, C]")
            attr = GradientShap(f).attribute(
                x, baselines=baselines.to(dev), n_samples=s.n_samples, stdevs=0.0, target=target
            )
        else:
            base = torch.zeros_like(x) if baselines is None else baselines.to(dev)
            attr = IntegratedGradients(f).attribute(
                x,
                baselines=base,
                target=target,
                n_steps=s.n_steps,
                internal_batch_size=max(s.batch, len(target)),
            )
    return attr.detach().cpu()


def baseline_windows(frames: torch.Tensor, lookback: int, n: int, seed: int) -> torch.Tensor:
    """GradientShap's distribution: ``[n, T, H, W, C]`` windows ending on random record days."""
    ends = np.arange(lookback, frames.shape[0] + 1)
    pick = np.random.default_rng(seed).choice(ends, size=min(n, len(ends)), replace=False)
    return torch.stack([frames[t - lookback : t] for t in np.sort(pick)])


def _reduce(
    attr: torch.Tensor, groups: Sequence[Sequence[int]], signed: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``attr[B, T, H, W, C]`` -> maps ``[B, H, W, G]`` (sum over lags) and by lag ``[B, T, G]``."""
    a = attr if signed else attr.abs()
    per_group = torch.stack([a[..., list(g)].sum(-1) for g in groups], dim=-1)  # [B, T, H, W, G]
    return per_group.sum(1), per_group.sum((2, 3))


def _gradient(
    inputs: ExperimentInputs, method: str, s: AttributionSettings, groups, lags: bool, bar
) -> tuple[np.ndarray, np.ndarray | None]:
    frames = torch.as_tensor(inputs.frames_array())
    targets, lb = inputs.target_indices(), inputs.lookback
    n_st, n_t = inputs.stations.sizes["station"], len(targets)
    h, w = frames.shape[1:3]
    base_record = None
    if method == "integrated_gradients_climatology":
        base_record = torch.as_tensor(climatology_record(inputs))
    dist = (
        baseline_windows(frames, lb, s.n_baselines, s.seed) if method == "gradient_shap" else None
    )
    members = list(network_members(inputs.predictor))
    n_members = 1 + max(m for _, _, m in members)
    maps = torch.zeros(n_st, n_t, h, w, len(groups), dtype=torch.float64)
    by_lag = torch.zeros(n_st, n_t, lb, len(groups), dtype=torch.float64) if lags else None
    chunk = max(1, s.batch // _evaluations(method, s))
    for k, t in enumerate(targets):
        window = frames[t - lb : t]
        for model, idx, _ in members:
            for a in range(0, len(idx), chunk):
                pos = np.arange(a, min(a + chunk, len(idx)))
                x = window.expand(len(pos), *window.shape)
                base = dist
                if base_record is not None:
                    base = base_record[t - lb : t].expand(len(pos), *window.shape)
                attr = window_attribution(method, model, x, pos.tolist(), s, base)
                m, per_lag = _reduce(attr, groups, s.signed)
                maps[idx[pos], k] += m.double() / n_members
                if by_lag is not None:
                    by_lag[idx[pos], k] += per_lag.double() / n_members
                bar.update(len(pos))
    lag_np = None if by_lag is None else by_lag.flip(2).numpy()  # lag 1 = the last input day
    return maps.numpy(), lag_np


# ------------------------------------------------------------------------- entry point
def group_labels(inputs: ExperimentInputs, groups: Sequence[Sequence[int]]) -> list[str]:
    """``tmax+tmin``-style label of each channel group."""
    names = [str(c) for c in inputs.frames["channel"].values]
    return ["+".join(names[i] for i in g) for g in groups]


def _check_groups(inputs: ExperimentInputs, groups) -> list[tuple[int, ...]]:
    n_c = inputs.frames.sizes["channel"]
    if groups is None:
        return [(c,) for c in range(n_c)]
    out = [tuple(int(c) for c in g) for g in groups]
    if not out or any(not g or min(g) < 0 or max(g) >= n_c for g in out):
        raise ConfigError(f"channel groups must be non-empty channel indices < {n_c}, got {groups}")
    return out


def attribute(
    inputs: ExperimentInputs,
    method: str,
    settings: AttributionSettings | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    heat: Any = None,
    lags: bool = True,
    progress: bool = True,
) -> xr.Dataset:
    """Maps of ``method`` for every station and target day of ``inputs``.

    Parameters
    ----------
    method
        A name of :data:`METHODS`.
    groups
        Channel groups (default: every channel alone); the map of a group explains the group's
        channels together.
    heat
        :class:`~hydrointerp.experiments.perturbation.Perturbation` of ``perturbation``.
    lags
        Also return ``attribution_by_lag`` (gradient methods only).

    Returns
    -------
    xarray.Dataset
        ``attribution(station, time, lat, lon, channel)`` (member mean) and, for the gradient
        methods with ``lags``, ``attribution_by_lag(station, time, lag, channel)``.
    """
    check_method(method)
    s = settings or AttributionSettings()
    groups = _check_groups(inputs, groups)
    spec = METHODS[method]
    n_st, n_t = inputs.stations.sizes["station"], len(inputs.target_times)
    by_lag = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        if spec.family == _GRAD:
            n_out = sum(len(idx) for _, idx, _ in network_members(inputs.predictor))
            with tqdm(total=n_t * n_out, desc=method, disable=not progress) as bar:
                maps, by_lag = _gradient(inputs, method, s, groups, lags, bar)
        elif method == "rise":
            with tqdm(total=s.n_masks, desc=method, disable=not progress) as bar:
                maps = rise_maps(inputs, s, groups, bar)
        elif method == "perturbation":
            maps = perturbation_maps(inputs, groups, heat, progress)
        else:
            maps = ablation_maps(inputs, method, s, groups)
    if spec.family != _GRAD and not s.signed:
        maps = np.abs(maps)
    if maps.shape[:2] != (n_st, n_t):
        raise DataError(
            "attribution maps of the wrong shape", expected=(n_st, n_t), found=maps.shape[:2]
        )
    return _dataset(inputs, maps, by_lag, spec, s, groups, heat)


def attribution_maps(inputs: ExperimentInputs, method: str, **kwargs: Any) -> xr.DataArray:
    """The ``attribution(station, time, lat, lon, channel)`` of :func:`attribute` alone."""
    return attribute(inputs, method, lags=False, **kwargs)["attribution"]


def _dataset(
    inputs, maps, by_lag, spec: Method, s: AttributionSettings, groups, heat
) -> xr.Dataset:  # noqa: ANN001
    coords = {
        "station": inputs.stations["station"].values,
        "time": pd.DatetimeIndex(inputs.target_times),
        "lat": inputs.frames["lat"].values,
        "lon": inputs.frames["lon"].values,
        "channel": group_labels(inputs, groups),
    }
    signed = bool(s.signed) and spec.name != "perturbation"
    reduction = "sum of attribution" if signed else "sum of |attribution|"
    attrs = {
        "method": spec.name,
        "family": spec.family,
        "implementation": spec.implementation,
        "baseline": spec.baseline
        if "ablation_baseline" not in spec.params
        else s.ablation_baseline,
        "scaling": spec.scaling,
        "signed": int(signed),
        "lag_reduction": f"{reduction} over the look-back days and the group's channels"
        if spec.family == _GRAD
        else "cell replaced on every look-back day at once",
        "channel_groups": str([list(g) for g in groups]),
        "members_averaged": int(_n_members(inputs.predictor)),
        "units": "1",
        **{k: v for k, v in asdict(s).items() if k in spec.params},
    }
    if spec.name == "perturbation":
        attrs.update({f"heat_{k}": str(v) for k, v in (heat.to_dict() if heat else {}).items()})
    da = xr.DataArray(
        maps.astype(np.float32),
        dims=("station", "time", "lat", "lon", "channel"),
        coords=coords,
        name="attribution",
        attrs={"long_name": f"{spec.name} attribution map", **attrs},
    )
    ds = xr.Dataset({"attribution": da}, attrs=attrs)
    if by_lag is not None:
        ds["attribution_by_lag"] = xr.DataArray(
            by_lag.astype(np.float32),
            dims=("station", "time", "lag", "channel"),
            coords={
                "station": coords["station"],
                "time": coords["time"],
                "lag": np.arange(1, by_lag.shape[2] + 1),
                "channel": coords["channel"],
            },
            attrs={
                "method": spec.name,
                "long_name": f"{reduction} over the grid per look-back day",
                "lag_units": "days before the target day (1 = the last input day)",
                "units": "1",
            },
        )
    return ds


def _n_members(predictor: object) -> int:
    try:
        return 1 + max(m for _, _, m in network_members(predictor))
    except ConfigError:
        return 1
