"""Experiment 2 (FRONT, METHODS.md section 6.2): importance of each input variable through the year.

The Experiment 1 perturbation restricted to the temperature channels (Tmax and Tmin together) or to
precipitation. ``S_T,max(t)`` and ``S_P,max(t)`` are the pixel maxima of the daily channel-specific
maps, averaged over the stations of each regime group, smoothed (7-day edge-padded moving mean)
and min-max scaled to [0, 1] per curve. Both variables use the same masks (same seed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.daily import METHODS, daily_maps, smooth_edge
from hydrointerp.experiments.heat_map import HeatSettings
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.regimes import group_order


@dataclass(frozen=True)
class ChannelSettings:
    """Settings of Experiment 2 (perturbation as Experiment 1; groups from the station table)."""

    sigma: float = 1.5
    amplitude: float = 1.0
    iters_one_pass: int = 20
    iters_total: int = 200
    tol: float = 0.1
    mask_mode: str = "shared"
    sign_mode: str = "per_pass"
    truncate: float | None = None
    seed: int = 0
    smooth_days: int = 7
    temperature_channels: tuple[str, ...] = ("tmax", "tmin")
    precipitation_channels: tuple[str, ...] = ("precip",)
    method: str = "perturbation"
    n_steps: int = 16

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")

    def heat(self, channels: tuple[int, ...]) -> HeatSettings:
        """Per-day ``make_heat`` settings perturbing ``channels``."""
        return HeatSettings(
            sigma=self.sigma,
            amplitude=self.amplitude,
            iters_one_pass=self.iters_one_pass,
            iters_total=self.iters_total,
            tol=self.tol,
            mask_mode=self.mask_mode,
            sign_mode=self.sign_mode,
            truncate=self.truncate,
            channels=channels,
            seed=self.seed,
        )

    def to_dict(self) -> dict:
        """Plain dict for attributes and the resume hash."""
        d = asdict(self)
        d["temperature_channels"] = list(self.temperature_channels)
        d["precipitation_channels"] = list(self.precipitation_channels)
        return d


def channel_indices(frames: xr.DataArray, names: tuple[str, ...]) -> tuple[int, ...]:
    """Indices of the named channels in ``frames``."""
    chans = [str(c) for c in frames["channel"].values]
    missing = [n for n in names if n not in chans]
    if missing:
        raise ConfigError(f"channels {missing} not in the input channels {chans}")
    return tuple(chans.index(n) for n in names)


def minmax(da: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Scale each curve to [0, 1] along ``dim`` (a constant curve becomes 0)."""
    lo, hi = da.min(dim), da.max(dim)
    return ((da - lo) / (hi - lo).where(hi > lo)).fillna(0.0)


def group_curves(per_station: xr.DataArray, groups: xr.DataArray, smooth_days: int) -> xr.DataArray:
    """Group mean over stations, smoothed, min-max scaled: ``(time, group)``."""
    mean = per_station.groupby(groups.rename("group")).mean("station")
    order = group_order(groups)
    return minmax(smooth_edge(mean, smooth_days)).sel(group=order).transpose("time", "group")


def _channel_maps(inputs, s, t_idx, p_idx, progress):  # noqa: ANN001, ANN202
    if s.method == "perturbation":
        t_maps, flow = daily_maps(inputs, s.heat(t_idx), progress=progress, desc="temperature maps")
        p_maps, _ = daily_maps(inputs, s.heat(p_idx), progress=progress, desc="precip maps")
        return t_maps, p_maps, flow
    from hydrointerp.experiments.attribution import attribution_maps, modelled_flow

    attr = attribution_maps(inputs, s.method, s.n_steps, progress)
    t_maps = attr.isel(channel=list(t_idx)).sum("channel")
    p_maps = attr.isel(channel=list(p_idx)).sum("channel")
    return t_maps, p_maps, modelled_flow(inputs)


def channel_importance(
    inputs: ExperimentInputs, settings: ChannelSettings | None = None, progress: bool = True
) -> xr.Dataset:
    """Experiment 2: the content of ``experiments/channel_importance.nc``.

    Returns
    -------
    xarray.Dataset
        ``s_temperature(time, group)``, ``s_precipitation(time, group)`` (scaled 0..1),
        ``s_temperature_station(time, station)``, ``s_precipitation_station(time, station)``
        (unscaled daily pixel maxima), ``flow_group(time, group)`` (group-mean modelled flow).
    """
    s = settings or ChannelSettings()
    t_idx = channel_indices(inputs.frames, s.temperature_channels)
    p_idx = channel_indices(inputs.frames, s.precipitation_channels)
    t_maps, p_maps, flow = _channel_maps(inputs, s, t_idx, p_idx, progress)
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
        ds[f"{name}_station"].attrs.update(long_name=f"daily max sensitivity to {what}", units="1")
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


def rise_day(curves: xr.DataArray, level: float = 0.5) -> xr.DataArray:
    """Index of the first day each scaled curve reaches ``level`` (-1 if it never does).

    Compares the spring rise of ``s_temperature`` and ``s_precipitation``: "temperature leads
    precipitation" means S_T rises first.
    """
    reached = curves >= level
    first = reached.argmax("time").where(reached.any("time"), -1)
    return first.rename(f"rise_day_{level:g}")


def melt_season_peak(curve: xr.DataArray) -> int:
    """Month (1..12) in which a curve peaks."""
    return int(curve["time"].dt.month.values[int(np.argmax(curve.values))])
