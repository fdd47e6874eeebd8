"""HESS spatial sensitivity heat maps (``make_heat``, METHODS.md section 5.1) and metrics A, D.

For every target day, Gaussian bumps (sigma 1.5 cells, peak 1 std) are added with a random sign
to all channels of all look-back days; the map of a station is the mask-weighted mean absolute
change of its output, ``mean_i |y0 - y_i| p_i``, averaged over target days. Masks come in passes
of ``iters_one_pass``; after each pass the relative change of the running mean is compared with
``tol`` and the loop stops when it is small enough or ``iters_total`` masks were used.

Published quirks (METHODS.md section 9.2), handled consciously:

* the sign is shared by all masks of a pass (``sign_mode="per_pass"``, the default);
* the first pass has no previous estimate, so at least two passes run;
* the published final scale divides by ``iters_total`` instead of the masks used: we divide by the
  masks actually used (a true mean); the per-map z-scoring removes any scale anyway;
* masks use integer centres only; all channels and days are perturbed together.

Convergence is judged on all ensemble members jointly (the loop runs until every member's map
has converged), so every member uses the same masks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.attribution_methods import (
    attribution_maps,
    method_settings,
)
from hydrointerp.experiments.engine import MASK_MODES, PerturbationEngine
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.masks import SIGN_MODES, MaskSet, draw_masks
from hydrointerp.experiments.metrics_spatial import halfmax_area, ks_in_far, zscore_map


@dataclass(frozen=True)
class HeatSettings:
    """Settings of ``make_heat``. Defaults: the mini run of the published code.

    ``mask_mode="shared"`` (same masks for all target days) is the default because it is the
    fast engine path; ``"per_day"`` draws new masks per target day as published.
    ``method``: a registered attribution method
    (:data:`~hydrointerp.experiments.attribution_methods.METHODS`); other than
    ``"perturbation"`` its maps (``attribution`` options, ``n_steps``, ``seed``) replace the
    Gaussian masks, and the heat map is their per-station time mean.
    """

    sigma: float = 1.5
    amplitude: float = 1.0
    iters_one_pass: int = 50
    iters_total: int = 100
    tol: float = 1.0
    mask_mode: str = "shared"
    sign_mode: str = "per_pass"
    truncate: float | None = None
    channels: tuple[int, ...] = (0, 1, 2)
    seed: int = 0
    method: str = "perturbation"
    n_steps: int = 16
    attribution: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        method_settings(self)
        if self.mask_mode not in MASK_MODES:
            raise ConfigError(f"mask_mode must be one of {MASK_MODES}, got {self.mask_mode!r}")
        if self.sign_mode not in SIGN_MODES:
            raise ConfigError(f"sign_mode must be one of {SIGN_MODES}, got {self.sign_mode!r}")
        if self.iters_one_pass < 1 or self.iters_total < self.iters_one_pass:
            raise ConfigError(
                f"need 1 <= iters_one_pass <= iters_total, got {self.iters_one_pass},"
                f" {self.iters_total}"
            )
        if self.sigma <= 0:
            raise ConfigError(f"sigma must be positive, got {self.sigma}")

    def to_dict(self) -> dict:
        """Plain dict (for NetCDF attributes and the resume hash)."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["attribution"] = dict(self.attribution)
        if self.method == "perturbation":  # the published path keeps its settings (and hashes)
            for key in ("method", "n_steps", "attribution"):
                d.pop(key)
        return d


def draw_pass(rng: np.random.Generator, s: HeatSettings, n_groups: int, shape: tuple) -> MaskSet:
    """One pass of masks; the signs carry the amplitude."""
    masks = draw_masks(
        rng, n_groups, s.iters_one_pass, shape, s.sigma, s.iters_one_pass, s.sign_mode, s.truncate
    )
    return MaskSet(masks.centres, masks.signs * np.float32(s.amplitude), masks.weights)


def _rel_change(
    cur: torch.Tensor, prev: torch.Tensor | None, dims: tuple[int, ...]
) -> torch.Tensor:
    if prev is None:
        return torch.full(cur.shape[: dims[0]], torch.inf, dtype=cur.dtype)
    den = prev.abs().mean(dim=dims)
    return (cur - prev).abs().mean(dim=dims) / torch.where(den > 0, den, torch.inf)


def make_heat(
    engine: PerturbationEngine,
    targets: np.ndarray,
    settings: HeatSettings,
    progress: bool = True,
) -> tuple[torch.Tensor, int]:
    """Time-mean sensitivity maps of every member, ``[R, S, H, W]``, and the masks used per day.

    Parameters
    ----------
    engine
        The perturbation engine over the input frames.
    targets
        Target day indices.
    settings
        Perturbation and convergence settings.
    """
    rng = np.random.default_rng(settings.seed)
    shape = tuple(engine.frames.shape[1:3])
    n_groups = 1 if settings.mask_mode == "shared" else len(targets)
    total = torch.zeros(0)
    prev = None
    used = 0
    bar = tqdm(
        total=settings.iters_total * len(targets) if n_groups > 1 else settings.iters_total,
        desc="heat map masks",
        disable=not progress,
    )
    while used < settings.iters_total:
        masks = draw_pass(rng, settings, n_groups, shape)
        part = engine.weighted_response(targets, masks, settings.channels, "time", bar)
        total = part if used == 0 else total + part
        used += settings.iters_one_pass
        cur = total / (used * len(targets))
        err = _rel_change(cur, prev, (1, 2, 3))
        prev = cur
        if bool((err <= settings.tol).all()):
            break
    bar.close()
    return prev, used


def _labelled(maps: torch.Tensor, inputs: ExperimentInputs) -> xr.DataArray:
    st = inputs.stations
    return xr.DataArray(
        maps.numpy().astype(np.float32),
        dims=("member", "station", "lat", "lon"),
        coords={
            "member": np.arange(maps.shape[0]),
            "station": st["station"].values,
            "lat": inputs.frames["lat"].values,
            "lon": inputs.frames["lon"].values,
        },
    )


def summarise_maps(raw: xr.DataArray, stations: xr.Dataset) -> xr.Dataset:
    """Z-score, ensemble-mean, cluster means and metrics A and D of raw member maps.

    Parameters
    ----------
    raw
        ``(member, station, lat, lon)`` un-normalised sensitivity.
    stations
        The station table (``cluster``, ``in_near``).
    """
    member_z = zscore_map(raw)
    ens = zscore_map(member_z.mean("member"))
    labels = station_cluster(stations)
    ks_d, ks_sign = ks_in_far(ens, stations["in_near"], labels.rename("cluster"))
    cluster_maps = ens.groupby(labels.rename("cluster")).mean("station")
    ds = xr.Dataset(
        {
            "sensitivity": ens.transpose("station", "lat", "lon"),
            "sensitivity_member": member_z.transpose("member", "station", "lat", "lon"),
            "raw_sensitivity_member": raw,
            "area_a": halfmax_area(ens),
            "area_a_member": halfmax_area(member_z),
            "ks_d": ks_d,
            "ks_sign": ks_sign,
            "cluster_sensitivity": cluster_maps.transpose("cluster", "lat", "lon"),
            "in_near": stations["in_near"],
        }
    )
    ds = ds.assign_coords(station_cluster=labels, group=("station", stations["group"].values))
    ds = ds.assign_coords(cluster_name=("cluster", cluster_names(stations, ds["cluster"].values)))
    _describe(ds)
    return ds


def station_cluster(stations: xr.Dataset) -> xr.DataArray:
    """``station_cluster(station)``: each station's cluster label (``cluster`` is the dim)."""
    out = stations["cluster"].rename("station_cluster")
    out.attrs.update(long_name="station cluster label (official numbering)")
    return out


def cluster_names(stations: xr.Dataset, labels: np.ndarray) -> list[str]:
    """Name of each cluster label, from the station table."""
    table = dict(
        zip(stations["cluster"].values.tolist(), stations["cluster_name"].values, strict=True)
    )
    return [str(table.get(int(k), k)) for k in labels]


def _describe(ds: xr.Dataset) -> None:
    ds["sensitivity"].attrs.update(
        long_name="z-scored ensemble-mean sensitivity S(x, y)", units="1"
    )
    ds["sensitivity_member"].attrs.update(long_name="z-scored sensitivity per member", units="1")
    ds["raw_sensitivity_member"].attrs.update(
        long_name="mask-weighted mean |change of normalised flow|", units="1"
    )
    ds["cluster_sensitivity"].attrs.update(
        long_name="cluster mean of z-scored sensitivity", units="1"
    )
    ds["area_a_member"].attrs.update(long_name="half-max area per member (metric A)", units="1")


def heat_map(
    inputs: ExperimentInputs,
    settings: HeatSettings | None = None,
    reference: bool = False,
    progress: bool = True,
) -> xr.Dataset:
    """The HESS heat-map experiment: ``experiments/heat_map.nc`` content.

    Returns
    -------
    xarray.Dataset
        ``sensitivity(station, lat, lon)`` (z-scored ensemble mean), ``area_a(station)``,
        ``ks_d(cluster)`` (+ ``ks_sign``), ``cluster(station)``, per-member maps and A, and the
        cluster-mean maps ``cluster_sensitivity(cluster, lat, lon)``.
    """
    settings = settings or HeatSettings()
    if settings.method != "perturbation":
        return method_heat_map(inputs, settings, progress)
    engine = PerturbationEngine(
        inputs.predictor,
        inputs.frames_array(),
        inputs.lookback,
        start=_start(inputs),
        reference=reference,
    )
    maps, used = make_heat(engine, inputs.target_indices(), settings, progress)
    ds = summarise_maps(_labelled(maps, inputs), inputs.stations)
    ds.attrs.update(
        masks_per_day=used,
        n_target_days=len(inputs.target_times),
        first_target=str(inputs.target_times[0].date()),
        last_target=str(inputs.target_times[-1].date()),
        source=inputs.source,
    )
    return ds


def method_heat_map(
    inputs: ExperimentInputs, settings: HeatSettings, progress: bool = True
) -> xr.Dataset:
    """The heat map of a registered method: per station, the time mean of its maps over
    ``settings.channels`` taken as one group (``|attribution|`` summed over look-back days and
    channels; signed with ``attribution={"signed": True}``), as one ``member`` of
    :func:`summarise_maps` (members are averaged inside the method)."""
    maps = attribution_maps(
        inputs,
        settings.method,
        settings=method_settings(settings),
        groups=[settings.channels],
        progress=progress,
    )
    raw = maps.isel(channel=0, drop=True).mean("time").expand_dims(member=[0])
    ds = summarise_maps(raw.transpose("member", "station", "lat", "lon"), inputs.stations)
    ds.attrs.update(
        {f"attribution_{k}": v for k, v in maps.attrs.items()},
        method=settings.method,
        n_target_days=len(inputs.target_times),
        first_target=str(inputs.target_times[0].date()),
        last_target=str(inputs.target_times[-1].date()),
        source=inputs.source,
    )
    return ds


def _start(inputs: ExperimentInputs):  # noqa: ANN202
    import pandas as pd

    return pd.Timestamp(inputs.frames["time"].values[0])
