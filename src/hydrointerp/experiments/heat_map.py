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

import dataclasses
import json
from typing import Any, ClassVar

import numpy as np
import torch
import xarray as xr
from pydantic import Field
from tqdm.auto import tqdm

from hydrointerp.experiments.base import Figure
from hydrointerp.experiments.engine import PerturbationEngine, weigh
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.map_experiment import MAP_CONTROLS, MapExperiment
from hydrointerp.experiments.masks import MaskSet
from hydrointerp.experiments.method_maps import attribution_maps
from hydrointerp.experiments.metrics_spatial import halfmax_area, ks_in_far, zscore_map
from hydrointerp.experiments.perturbation import Perturbation, pass_masks
from hydrointerp.experiments.sweep_tasks import SweepResponses, TaskPlan, sweep_engine
from hydrointerp.fidelity.bundle import Bundle
from hydrointerp.fidelity.map_scores import score_heat_map
from hydrointerp.plots.heat_map import plot_cluster_heat_maps


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
    settings: Perturbation,
    progress: bool = True,
    plan: TaskPlan | None = None,
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
    plan
        How each pass splits into member x day-block tasks
        (:mod:`hydrointerp.experiments.sweep_tasks`; None: one task in this process). The
        result is the same for every plan.
    """
    sweep = SweepResponses(engine, targets, plan)
    days = np.arange(len(targets))
    total = torch.zeros(0)
    prev = None
    used = 0
    n_groups = 1 if settings.mask_mode == "shared" else len(targets)
    bar = tqdm(total=settings.iters_total * n_groups, desc="heat map masks", disable=not progress)
    while used < settings.iters_total:
        p = used // settings.iters_one_pass
        dy = sweep(settings, p, days)
        part = weigh(dy, sweep.masks(settings, p, days), "time")
        bar.update(settings.iters_one_pass * n_groups)
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


def _time_attrs(inputs: ExperimentInputs) -> dict[str, Any]:
    return dict(
        n_target_days=len(inputs.target_times),
        first_target=str(inputs.target_times[0].date()),
        last_target=str(inputs.target_times[-1].date()),
        source=inputs.source,
    )


def run_masks(ds: xr.Dataset) -> MaskSet | None:
    """The shared masks a heat-map run used, re-drawn from its recorded settings and seed
    (the mask stream is a pure function of the settings), or None for per-day masks."""
    try:
        given = json.loads(str(ds.attrs.get("settings_json", "{}")))
    except json.JSONDecodeError:
        return None
    s = Perturbation.model_validate(given.get("perturbation", {}))
    used = int(ds.attrs.get("masks_per_day", 0))
    if s.mask_mode != "shared" or used < 1:
        return None
    shape = (ds.sizes["lat"], ds.sizes["lon"])
    parts = [pass_masks(s, p, (), shape) for p in range(-(-used // s.iters_one_pass))]
    return MaskSet.joined(parts, axis=1)


def _score(b: Bundle) -> list:
    """Heat-map fidelity, with the network's own masks (for the same-mask explainer)."""
    if b.masks is None and "perturbation" in b.model:
        b = dataclasses.replace(b, masks=run_masks(b.model["perturbation"]))
    return score_heat_map(b)


class HeatMap(MapExperiment):
    """The HESS spatial sensitivity heat maps with metrics A and D (METHODS.md 5.1).

    Result (``experiments/heat_map.nc``): ``sensitivity(station, lat, lon)`` (z-scored ensemble
    mean), ``area_a(station)``, ``ks_d(cluster)`` (+ ``ks_sign``), ``station_cluster(station)``,
    per-member maps and A, and the cluster-mean maps ``cluster_sensitivity(cluster, lat, lon)``.
    A method other than the perturbation gives, per station, the time mean of its maps over
    ``perturbation.channels`` taken as one group (``|attribution|`` summed over look-back days
    and channels; signed with ``attribution={"signed": True}``), as one member.
    """

    name: ClassVar[str] = "heat_map"
    title: ClassVar[str] = "HESS spatial sensitivity heat maps"
    quick: ClassVar[dict[str, Any]] = {
        "perturbation": {"iters_one_pass": 10, "iters_total": 20},
        "target_step": 7,
    }
    controls: ClassVar[tuple[str, ...]] = (*MAP_CONTROLS, "contribution")
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_cluster_heat_maps,
            "heat_map_clusters",
            "Ensemble-mean z-scored sensitivity S(x, y) per cluster with basins and gauges, like"
            " HESS Fig 7: where in space the model looks.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"heat_map": _score}

    reference: bool = Field(False, description="the engine's straightforward reference path")

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """The heat maps of ``inputs``' predictor."""
        if self.method != "perturbation":
            return self._method_maps(inputs, progress)
        engine = sweep_engine(inputs, self.reference)
        targets = inputs.target_indices()
        maps, used = make_heat(engine, targets, self.perturbation, progress, inputs.tasks)
        ds = summarise_maps(_labelled(maps, inputs), inputs.stations)
        ds.attrs.update(masks_per_day=used, **_time_attrs(inputs))
        return ds

    def _method_maps(self, inputs: ExperimentInputs, progress: bool) -> xr.Dataset:
        maps = attribution_maps(
            inputs,
            self.method,
            settings=self.attribution_settings(),
            groups=[self.perturbation.channels],
            progress=progress,
        )
        raw = maps.isel(channel=0, drop=True).mean("time").expand_dims(member=[0])
        ds = summarise_maps(raw.transpose("member", "station", "lat", "lon"), inputs.stations)
        ds.attrs.update(
            {f"attribution_{k}": v for k, v in maps.attrs.items()},
            method=self.method,
            **_time_attrs(inputs),
        )
        return ds

    def summary(self, result: xr.Dataset) -> str:
        """Metric D per cluster."""
        d = (result["ks_d"] * result["ks_sign"]).values
        names = result["cluster_name"].values
        return "metric D per cluster: " + ", ".join(
            f"{n}={v:+.3f}" for n, v in zip(names, d, strict=True)
        )
