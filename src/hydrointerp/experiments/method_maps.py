"""Maps of every registered attribution method in one layout: ``(station, time, lat, lon,
channel)`` (the registry and the settings: :mod:`hydrointerp.experiments.attribution_methods`).

:func:`attribute` dispatches on the method's family: gradients through Captum on each window of
the networks (:func:`window_attribution`), ablation and masks on the whole record
(:mod:`hydrointerp.experiments.record_attribution`), the published perturbation through its
sweep; the result carries ``attribution_by_lag`` so a user sees where in the window the mass sits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
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
from hydrointerp.experiments.attribution_methods import (
    GRADIENT,
    GRADIENT_METHODS,
    METHODS,
    AttributionSettings,
    Method,
    check_method,
)
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.perturbation import day_keys, day_seed
from hydrointerp.experiments.record_attribution import (
    ablation_maps,
    climatology_record,
    perturbation_maps,
    rise_maps,
)
from hydrointerp.experiments.sweep_tasks import (
    PROCESS_MB,
    inputs_of,
    per_worker,
    serial_map,
    task_record,
)
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.predictor import member_count


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


def attribute_window(
    model: CNNLSTM, window: torch.Tensor, station: int, method: str, n_steps: int = 16
) -> torch.Tensor:
    """Attribution ``[T, H, W, C]`` of output ``station`` for one window ``[T, H, W, C]``.

    A one-window shortcut to :func:`window_attribution` (zero baseline for integrated gradients).
    """
    settings = AttributionSettings(n_steps=n_steps)
    return window_attribution(method, model, window[None], [station], settings)[0]


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
    members = network_members(inputs.predictor)
    n_members = member_count(inputs.predictor)
    maps = torch.zeros(n_st, n_t, h, w, len(groups), dtype=torch.float64)
    by_lag = torch.zeros(n_st, n_t, lb, len(groups), dtype=torch.float64) if lags else None
    chunk = max(1, s.batch // _evaluations(method, s))
    keys = day_keys(pd.Timestamp(inputs.frames["time"].values[0]), targets)
    for k, t in enumerate(targets):
        torch.manual_seed(day_seed(s.seed, keys[k]))  # a day's noise: its own stream
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


# ------------------------------------------------------------------------- day-block tasks
@dataclass(frozen=True)
class GradientJob:
    """One task of a gradient method: the maps of a block of target days, all members."""

    source: Any  # an InputsSource, or None in this process
    method: str
    settings: AttributionSettings
    groups: tuple[tuple[int, ...], ...]
    lags: bool
    targets: tuple[int, ...]  # frame indices of the block's target days


class _NoBar:
    def update(self, n: int) -> None:
        """Progress is counted by the driver."""


def with_targets(inputs: ExperimentInputs, targets: Sequence[int]) -> ExperimentInputs:
    """``inputs`` on the target days of frame indices ``targets``."""
    start = pd.Timestamp(inputs.frames["time"].values[0])
    days = pd.to_timedelta(np.asarray(targets, dtype=np.int64), unit="D")
    return replace(inputs, target_times=pd.DatetimeIndex(start + days))


def gradient_block(job: GradientJob, inputs: ExperimentInputs | None = None) -> dict[str, Any]:
    """Run one task: the maps ``[S, days, H, W, G]`` (and by lag) of its block."""
    if inputs is None:
        inputs = inputs_of(job.source)
    sub = with_targets(inputs, job.targets)
    with torch.random.fork_rng(devices=[]):
        maps, by_lag = _gradient(
            sub, job.method, job.settings, list(job.groups), job.lags, _NoBar()
        )
    return {"maps": maps, "by_lag": by_lag, **task_record()}


def gradient_task_bytes(inputs: ExperimentInputs, n_days: int, groups, lags: bool) -> float:  # noqa: ANN001
    """Estimated peak memory (bytes) of a gradient task of ``n_days`` target days: the worker
    process, the frames (twice), the block's maps (and by-lag sums) in float64 and their float32
    copy, and a batch's windows with their gradients and CNN activations."""
    d_all, h, w, c = inputs.frames.shape
    s, lb, g = inputs.stations.sizes["station"], inputs.lookback, len(groups)
    per_day = s * g * (h * w + (lb if lags else 0)) * (8 + 4)
    batch = 16 * lb * h * w * (c + 64) * 4 * 3
    return PROCESS_MB * 2**20 + 2 * d_all * h * w * c * 4 + batch + n_days * per_day


def gradient_tasks(
    inputs: ExperimentInputs,
    method: str,
    s: AttributionSettings,
    groups,
    lags: bool,
    bar,  # noqa: ANN001
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_gradient` in day-block tasks of ``inputs.tasks`` (a
    :class:`~hydrointerp.experiments.sweep_tasks.TaskPlan`), concatenated in day order: every
    day's maps are computed alone (its own windows, its own noise seed), so the result equals
    the unsplit run exactly. Members stay together in a task (their mean is taken per day)."""
    plan = inputs.tasks
    targets = inputs.target_indices()
    n = len(targets)
    if plan.block_days is not None:
        block = max(1, min(plan.block_days, n))
    else:
        block = n
        while (
            block > 1 and gradient_task_bytes(inputs, block, groups, lags) > plan.memory_mb * 2**20
        ):
            block = -(-block // 2)
        block = min(block, -(-n // max(1, plan.min_tasks)))
    key = tuple(tuple(int(c) for c in g) for g in groups)
    jobs = [
        GradientJob(
            plan.source, method, s, key, lags, tuple(int(t) for t in targets[a : a + block])
        )
        for a in range(0, n, block)
    ]
    began = time.perf_counter()
    if plan.source is None:
        results = serial_map(lambda job: gradient_block(job, inputs), jobs)
    else:
        results = plan.map(gradient_block, jobs)
    plan.log.append(
        {
            "pass": 0,
            "seconds": time.perf_counter() - began,
            "days": n,
            "tasks": len(jobs),
            "block_days": block,
            "members_per_task": member_count(inputs.predictor),
            "peak_rss_mb": max(float(r["rss_mb"]) for r in results),
            "worker_rss_mb": per_worker(results),
            "budget_mb": None if plan.block_days else plan.memory_mb,
        }
    )
    bar.update(bar.total - bar.n if getattr(bar, "total", None) else 0)
    maps = np.concatenate([r["maps"] for r in results], axis=1)
    by_lag = np.concatenate([r["by_lag"] for r in results], axis=1) if lags else None
    return maps, by_lag


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
        if spec.family == GRADIENT:
            n_out = sum(len(idx) for _, idx, _ in network_members(inputs.predictor))
            with tqdm(total=n_t * n_out, desc=method, disable=not progress) as bar:
                run = gradient_tasks if inputs.tasks is not None else _gradient
                maps, by_lag = run(inputs, method, s, groups, lags, bar)
        elif method == "rise":
            with tqdm(total=s.n_masks, desc=method, disable=not progress) as bar:
                maps = rise_maps(inputs, s, groups, bar)
        elif method == "perturbation":
            maps = perturbation_maps(inputs, groups, heat, progress)
        else:
            maps = ablation_maps(inputs, method, s, groups)
    if spec.family != GRADIENT and not s.signed:
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
        if spec.family == GRADIENT
        else "cell replaced on every look-back day at once",
        "channel_groups": str([list(g) for g in groups]),
        "members_averaged": member_count(inputs.predictor),
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
