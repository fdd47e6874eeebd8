"""Experiment 2 (FRONT, METHODS.md section 6.2): importance of each input variable through the year.

The Experiment 1 perturbation restricted to the temperature channels (Tmax and Tmin together) or to
precipitation. ``S_T,max(t)`` and ``S_P,max(t)`` are the pixel maxima of the daily channel-specific
maps, averaged over the stations of each regime group, smoothed (7-day edge-padded moving mean)
and min-max scaled to [0, 1] per curve. Both variables use the same masks (same seed).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr
from pydantic import Field

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.base import Figure
from hydrointerp.experiments.curves import minmax, smooth_edge
from hydrointerp.experiments.daily import method_daily_maps
from hydrointerp.experiments.daily_sweep import daily_maps
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.map_experiment import MapExperiment
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.regimes import group_order
from hydrointerp.fidelity.scorers import score_channels
from hydrointerp.plots.channels import plot_channel_sensitivity


def channel_indices(frames: xr.DataArray, names: tuple[str, ...]) -> tuple[int, ...]:
    """Indices of the named channels in ``frames``."""
    chans = [str(c) for c in frames["channel"].values]
    missing = [n for n in names if n not in chans]
    if missing:
        raise ConfigError(f"channels {missing} not in the input channels {chans}")
    return tuple(chans.index(n) for n in names)


def group_curves(per_station: xr.DataArray, groups: xr.DataArray, smooth_days: int) -> xr.DataArray:
    """Group mean over stations, smoothed, min-max scaled: ``(time, group)``."""
    mean = per_station.groupby(groups.rename("group")).mean("station")
    order = group_order(groups)
    return minmax(smooth_edge(mean, smooth_days)).sel(group=order).transpose("time", "group")


class ChannelImportance(MapExperiment):
    """Experiment 2: temperature vs precipitation importance through the year per regime group.

    The perturbation as Experiment 1, on the temperature channels or on precipitation
    (``perturbation.channels`` is replaced by each set; both use the same masks). Result
    (``experiments/channel_importance.nc``): ``s_temperature(time, group)``,
    ``s_precipitation(time, group)`` (scaled 0..1), ``s_temperature_station(time, station)``,
    ``s_precipitation_station(time, station)`` (unscaled daily pixel maxima),
    ``flow_group(time, group)`` (group-mean modelled flow).
    """

    name: ClassVar[str] = "channels"
    file: ClassVar[str] = "channel_importance"
    title: ClassVar[str] = "Experiment 2: temperature vs precipitation importance through the year"
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_channel_sensitivity,
            "channel_sensitivity",
            "S_T,max (red) and S_P,max (blue), each min-max scaled, with the group-mean modelled"
            " flow (black) per regime group, like Frontiers channel_sensitivity.png.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"channel_importance": score_channels}

    perturbation: Perturbation = Perturbation(iters_one_pass=20, iters_total=200, tol=0.1)
    smooth_days: int = Field(7, ge=1, description="moving mean of the curves (days)")
    temperature_channels: tuple[str, ...] = Field(
        ("tmax", "tmin"), description="input channels perturbed together as temperature"
    )
    precipitation_channels: tuple[str, ...] = Field(
        ("precip",), description="input channels perturbed as precipitation"
    )

    def _maps(self, inputs: ExperimentInputs, t_idx: tuple, p_idx: tuple, progress: bool) -> tuple:
        if self.method == "perturbation":
            pert = self.perturbation
            t_maps, flow = daily_maps(
                inputs, pert.on_channels(t_idx), progress=progress, desc="temperature maps"
            )
            p_maps, _ = daily_maps(
                inputs, pert.on_channels(p_idx), progress=progress, desc="precip maps"
            )
            return t_maps, p_maps, flow
        settings = self.attribution_settings()
        maps, flow = method_daily_maps(inputs, self.method, settings, [t_idx, p_idx], progress)
        return maps.isel(channel=0, drop=True), maps.isel(channel=1, drop=True), flow

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Experiment 2 on ``inputs``' predictor."""
        s = self
        t_idx = channel_indices(inputs.frames, s.temperature_channels)
        p_idx = channel_indices(inputs.frames, s.precipitation_channels)
        t_maps, p_maps, flow = self._maps(inputs, t_idx, p_idx, progress)
        groups = inputs.stations["group"]
        s_t = t_maps.max(("lat", "lon")).drop_vars("masks_used", errors="ignore")
        s_p = p_maps.max(("lat", "lon")).drop_vars("masks_used", errors="ignore")
        order = group_order(groups)
        ds = xr.Dataset(
            {
                "s_temperature": group_curves(s_t, groups, s.smooth_days),
                "s_precipitation": group_curves(s_p, groups, s.smooth_days),
                "s_temperature_station": s_t,
                "s_precipitation_station": s_p,
                "flow_group": flow.groupby(groups.rename("group")).mean("station").sel(group=order),
                "flow_model": flow,
            }
        )
        regime = dict(zip(groups.values, inputs.stations["regime"].values, strict=True))
        ds = ds.assign_coords(
            group_regime=("group", [regime[g] for g in ds["group"].values]),
            station_group=("station", groups.values),
        )
        ds.attrs["method"] = s.method
        if "masks_used" in t_maps.coords:  # the fewest masks any day used (convergence check)
            used = min(int(t_maps["masks_used"].min()), int(p_maps["masks_used"].min()))
            ds.attrs["masks_used_min"] = used
        for name, what in (("s_temperature", "temperature"), ("s_precipitation", "precipitation")):
            ds[name].attrs.update(long_name=f"scaled max sensitivity to {what}", units="1")
            ds[f"{name}_station"].attrs.update(
                long_name=f"daily max sensitivity to {what}", units="1"
            )
        ds["flow_group"].attrs.update(long_name="group-mean modelled normalised flow", units="1")
        return ds


#: Seasons of the published Experiment 2 statements (METHODS.md 6.2), as months.
SEASONS = {"spring": (3, 4, 5, 6), "late_summer": (8, 9), "cold": (10, 11, 12, 1, 2)}


def seasonal_dominance(ds: xr.Dataset) -> xr.Dataset:
    """Mean of ``s_temperature - s_precipitation`` per group over each season of :data:`SEASONS`.

    Positive: temperature matters more than precipitation in that season (both curves are scaled
    to 0..1 per group). The published reading of Fig 5: temperature leads in spring for nival and
    glacial groups, precipitation dominates late summer for glacial and the cold season for the
    pluvial (Coastal) group.
    """
    diff = ds["s_temperature"] - ds["s_precipitation"]
    month = diff["time"].dt.month
    out = xr.Dataset(
        {
            f"t_minus_p_{name}": diff.where(month.isin(months)).mean("time")
            for name, months in SEASONS.items()
        }
    )
    for name, months in SEASONS.items():
        out[f"t_minus_p_{name}"].attrs.update(
            long_name=f"mean S_T - S_P over months {list(months)}", units="1"
        )
    return out


def melt_season_peak(curve: xr.DataArray) -> int:
    """Month (1..12) in which a curve peaks."""
    return int(curve["time"].dt.month.values[int(np.argmax(curve.values))])
