"""Experiment 1 (FRONT, METHODS.md section 6.1): sensitivity through space and time.

A sensitivity map per station for every target day (``make_heat`` on one day, with its own
convergence), daily diagnostics (maximum, half-max area, location of the maximum), 7-day smoothing
with edge padding, and the split of each cluster's days into two patterns: the prototype rule
(Ward clustering of the maximum's location; the group with the highest cluster flow is "active",
the rest "dormant") or a threshold on the cluster-mean modelled flow. The two mean maps per cluster
get their own metric D.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field
from sklearn.cluster import AgglomerativeClustering

from hydrointerp.experiments.attribution import modelled_flow
from hydrointerp.experiments.attribution_methods import AttributionSettings
from hydrointerp.experiments.base import Figure
from hydrointerp.experiments.curves import smooth_edge
from hydrointerp.experiments.daily_sweep import daily_maps
from hydrointerp.experiments.heat_map import cluster_names
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.map_experiment import MapExperiment
from hydrointerp.experiments.method_maps import attribution_maps
from hydrointerp.experiments.metrics_spatial import halfmax_area, ks_in_far, zscore_map
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.fidelity.map_scores import score_daily
from hydrointerp.plots.daily import plot_daily_gifs, plot_pattern_maps

#: split a cluster's days by the location of the maximum (prototype) or by modelled flow
PatternRule = Literal["location", "flow_threshold"]
PATTERNS = ("low_flow", "high_flow")
#: Dimension of the two pattern maps (``pattern`` itself is the label of each day).
PATTERN_DIM = "flow_pattern"
#: Ward groups per cluster in the prototype (clusters 0..5).
PROTOTYPE_GROUPS = (2, 2, 2, 3, 3, 2)


def daily_diagnostics(maps: xr.DataArray) -> xr.Dataset:
    """Per day and station: max sensitivity, half-max area, lat and lon of the maximum."""
    flat = maps.stack(pixel=("lat", "lon"))
    arg = flat.argmax("pixel")
    lat = flat["lat"].values[arg.values]
    lon = flat["lon"].values[arg.values]
    ds = xr.Dataset(
        {
            "max_sensitivity": maps.max(("lat", "lon")),
            "halfmax_area": halfmax_area(maps),
            "max_lat": (arg.dims, lat),
            "max_lon": (arg.dims, lon),
        }
    )
    ds["max_sensitivity"].attrs.update(long_name="daily maximum sensitivity", units="1")
    ds["max_lat"].attrs.update(long_name="latitude of the maximum", units="degrees_north")
    ds["max_lon"].attrs.update(long_name="longitude of the maximum", units="degrees_east")
    return ds


def _location_pattern(
    lat: np.ndarray, lon: np.ndarray, flow: np.ndarray, n_groups: int
) -> np.ndarray:
    feats = np.stack([lat, lon], axis=1)
    std = feats.std(axis=0)
    feats = (feats - feats.mean(axis=0)) / np.where(std > 0, std, 1.0)
    if n_groups < 2 or len(feats) < n_groups or np.allclose(feats, feats[0]):
        return (flow >= np.median(flow)).astype(np.int64)
    labels = AgglomerativeClustering(n_clusters=n_groups, linkage="ward").fit_predict(feats)
    means = [flow[labels == g].mean() for g in range(n_groups)]
    return (labels == int(np.argmax(means))).astype(np.int64)


def split_patterns(
    diag: xr.Dataset, cluster_flow: xr.DataArray, labels: xr.DataArray, s: DailyMaps
) -> xr.DataArray:
    """``pattern(time, cluster)``: 1 for the high-flow (active) pattern, 0 for low flow."""
    out = []
    for k in cluster_flow["cluster"].values:
        flow = cluster_flow.sel(cluster=k).values
        if s.pattern_rule == "flow_threshold":
            out.append((flow >= np.quantile(flow, s.flow_quantile)).astype(np.int64))
            continue
        sel = labels.values == k
        lat = diag["max_lat_smooth"].isel(station=sel).mean("station").values
        lon = diag["max_lon_smooth"].isel(station=sel).mean("station").values
        n = s.location_groups[int(k)] if int(k) < len(s.location_groups) else 2
        out.append(_location_pattern(lat, lon, flow, n))
    pattern = xr.DataArray(
        np.stack(out, axis=1),
        dims=("time", "cluster"),
        coords={"time": cluster_flow["time"].values, "cluster": cluster_flow["cluster"].values},
        name="pattern",
        attrs={
            "long_name": "sensitivity pattern of the day",
            "flag_values": [0, 1],
            "flag_meanings": "low_flow high_flow",
            "rule": s.pattern_rule,
        },
    )
    return pattern


def pattern_maps(
    maps: xr.DataArray, pattern: xr.DataArray, stations: xr.Dataset, zscore: bool
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Mean map per pattern and cluster, metric D of each (pooled station maps) and its sign
    (+1: in/near pixels more sensitive than far ones)."""
    daily = zscore_map(maps) if zscore else maps
    labels = stations["cluster"]
    maps_out, ks_out, sign_out = [], [], []
    for p in (0, 1):
        station_maps = []
        for st_idx, k in enumerate(labels.values):
            days = pattern.sel(cluster=k).values == p
            m = daily.isel(station=st_idx, time=np.flatnonzero(days)).mean("time")
            station_maps.append(m)
        per_station = zscore_map(xr.concat(station_maps, dim="station"))
        per_station = per_station.assign_coords(station=stations["station"].values)
        maps_out.append(per_station.groupby(labels.rename("cluster")).mean("station"))
        d, sign = ks_in_far(per_station.fillna(0.0), stations["in_near"], labels.rename("cluster"))
        ks_out.append(d)
        sign_out.append(sign)
    index = pd.Index(np.asarray(PATTERNS, dtype=object), name=PATTERN_DIM)
    pm = xr.concat(maps_out, dim=index)
    kd = xr.concat(ks_out, dim=index)
    ks = xr.concat(sign_out, dim=index)
    pm.attrs.update(long_name="mean z-scored sensitivity of the pattern's days", units="1")
    kd.attrs.update(long_name="KS statistic in/near vs far of the pattern map (metric D)")
    ks.attrs.update(long_name="sign of D: +1 when in/near pixels are more sensitive than far")
    by_cluster = (PATTERN_DIM, "cluster")
    return (
        pm.transpose(PATTERN_DIM, "cluster", "lat", "lon"),
        kd.transpose(*by_cluster),
        ks.transpose(*by_cluster),
    )


def pattern_contrast(ds: xr.Dataset) -> xr.DataArray:
    """How much each pattern map is concentrated in/near its cluster's basins.

    Median of ``pattern_map`` over the pixels that are in/near any basin of the cluster minus its
    median over the other pixels, per ``(flow_pattern, cluster)``. Positive: the pattern's
    sensitivity sits in and near the basins; negative: in the far field. The published finding
    (METHODS.md 6.1) is a larger value for the high-flow pattern than for the low-flow one.
    """
    union = ds["in_near"].groupby(ds["station_cluster"].rename("cluster")).any("station")
    union = union.sel(cluster=ds["cluster"])
    pm = ds["pattern_map"]
    inside = pm.where(union).median(("lat", "lon"))
    outside = pm.where(~union).median(("lat", "lon"))
    out = (inside - outside).rename("pattern_contrast")
    out.attrs.update(long_name="median in/near minus median far of the pattern map", units="1")
    return out


def method_daily_maps(
    inputs: ExperimentInputs,
    method: str,
    settings: AttributionSettings,
    groups: list[tuple[int, ...]],
    progress: bool = True,
) -> tuple[xr.DataArray, xr.DataArray]:
    """A registered method's maps ``sensitivity(time, station, lat, lon, channel)`` (one
    ``channel`` per group) and the modelled flow, in the layout of :func:`daily_maps`."""

    maps = attribution_maps(inputs, method, settings=settings, groups=groups, progress=progress)
    maps = maps.transpose("time", "station", "lat", "lon", "channel").rename("sensitivity")
    return maps, modelled_flow(inputs)


class DailyMaps(MapExperiment):
    """Experiment 1: daily sensitivity maps through the year, two patterns per cluster, GIFs.

    Defaults: the May-2021 prototype with shared masks. Result
    (``experiments/sensitivity_daily.nc``): cluster-mean daily maps, daily diagnostics (maximum,
    half-max area, location) raw and smoothed, the day's pattern per cluster and the two pattern
    maps with their metric D.
    """

    name: ClassVar[str] = "daily"
    file: ClassVar[str] = "sensitivity_daily"
    title: ClassVar[str] = "Experiment 1: sensitivity through space and time"
    quick: ClassVar[dict[str, Any]] = {
        "perturbation": {"iters_one_pass": 10, "iters_total": 20},
        "target_step": 3,
        "gifs": False,
    }
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_pattern_maps,
            "sensitivity_daily_patterns",
            "Daily sensitivity diagnostics (maximum, half-max area) and the two sensitivity"
            " patterns per cluster (high-flow vs low-flow days) with their in/near-vs-far"
            " statistic D.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"sensitivity_daily": score_daily}

    perturbation: Perturbation = Perturbation(iters_one_pass=20, iters_total=200, tol=0.1)
    smooth_days: int = Field(7, ge=1, description="moving mean of the diagnostics (days)")
    pattern_rule: PatternRule = Field(
        "location", description="location (prototype) | flow_threshold"
    )
    location_groups: tuple[int, ...] = Field(
        PROTOTYPE_GROUPS, description="Ward groups of the maximum's location per cluster"
    )
    flow_quantile: float = Field(0.5, description="flow_threshold rule: the high-flow quantile")
    zscore_before_mean: bool = Field(True, description="z-score each map before averaging")
    gifs: bool = Field(True, description="draw the animated GIFs (perturbation only)")

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Experiment 1 on ``inputs``' predictor."""
        s = self
        if s.method == "perturbation":
            maps, flow = daily_maps(inputs, s.perturbation, progress=progress)
        else:
            groups = [s.perturbation.channels]
            maps, flow = method_daily_maps(
                inputs, s.method, s.attribution_settings(), groups, progress
            )
            maps = maps.isel(channel=0, drop=True)
        stations = inputs.stations
        labels = stations["cluster"].rename("cluster")
        diag = daily_diagnostics(maps)
        for name in ("max_sensitivity", "halfmax_area", "max_lat", "max_lon"):
            diag[f"{name}_smooth"] = smooth_edge(diag[name], s.smooth_days)
        cluster_flow = flow.groupby(labels).mean("station")
        pattern = split_patterns(diag, cluster_flow, labels, s)
        pmaps, pks, psign = pattern_maps(maps, pattern, stations, s.zscore_before_mean)
        ds = xr.Dataset(
            {
                "sensitivity": maps.groupby(labels)
                .mean("station")
                .transpose("time", "cluster", "lat", "lon"),
                **{k: diag[k] for k in diag.data_vars},
                "flow_model": flow,
                "cluster_flow": cluster_flow.transpose("time", "cluster"),
                "pattern": pattern,
                "pattern_map": pmaps,
                "pattern_ks_d": pks,
                "pattern_ks_sign": psign,
            }
        )
        ds["sensitivity"].attrs.update(
            long_name="cluster-mean daily sensitivity (not z-scored)", units="1"
        )
        ds = ds.assign_coords(
            station_cluster=("station", labels.values),
            cluster_name=("cluster", cluster_names(stations, ds["cluster"].values)),
            in_near=stations["in_near"],
        )
        return ds

    def draw(self, result: xr.Dataset, fig_dir: Path) -> list[Path]:
        """The pattern maps, and the GIFs (``gifs``; perturbation only)."""
        out = super().draw(result, fig_dir)
        if self.gifs and self.method == "perturbation":
            out += plot_daily_gifs(result, fig_dir)
        return out
