"""Uniform warming/cooling of the inputs and the freshet response (HESS, METHODS.md section 5.2).

Every input day gets ``+dT / std_Tmax`` on channel 0 and ``+dT / std_Tmin`` on channel 1 (the
published models see normalised inputs); the predictor's flow is averaged per cluster, folded
into a seasonal cycle, smoothed with a 30-day trailing mean, and the freshet (onset ``t_half``,
peak day ``t_peak`` and peak flow ``Q_max``) is compared with the spring freezing-transition day of
the cluster's de-normalised temperature.

The helpers :func:`raw_temperature`, :func:`cluster_region` and :func:`target_index` are shared by
the August, drivers and cell-state experiments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import xarray as xr
from pydantic import Field
from tqdm.auto import tqdm

from hydrointerp.errors import DataError
from hydrointerp.experiments.base import Experiment, Figure
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.fidelity.scorers import score_warming
from hydrointerp.plots.warming import plot_freshet_tracking, plot_freshet_vs_freezing
from hydrointerp.predictor import Predictor

FREEZING_K = 273.0
DELTA_T = np.linspace(5.0, -5.0, 11)


@dataclass(frozen=True)
class TemperatureScaling:
    """Normalisation constants of the temperature channels (METHODS.md section 1.3).

    Defaults are the published training-period constants with the means assigned correctly
    (Tmax 280.56 K, Tmin 274.30 K). ``swapped_means=True`` reproduces the mini notebook's quirk
    (METHODS.md section 9.1), which moves the zero-crossing lines by about 6 K.
    """

    tmax_mean: float = 280.5563132719942
    tmax_std: float = 10.56131180032738
    tmin_mean: float = 274.30000759959273
    tmin_std: float = 9.76836353862723
    swapped_means: bool = False

    @classmethod
    def from_constants(
        cls, mean: xr.DataArray, std: xr.DataArray, swapped_means: bool = False
    ) -> TemperatureScaling:
        """From ``channel_mean``/``channel_std`` ``(channel)`` with ``tmax`` and ``tmin`` in K."""
        try:
            values = {
                f"{c}_{kind}": float(arr.sel(channel=c))
                for c in ("tmax", "tmin")
                for kind, arr in (("mean", mean), ("std", std))
            }
        except KeyError as exc:
            raise DataError(
                "temperature normalisation constants missing",
                variable="channel_mean/channel_std",
                expected="channels tmax, tmin",
                found=[str(c) for c in mean["channel"].values],
            ) from exc
        return cls(**values, swapped_means=swapped_means)

    def means(self) -> tuple[float, float]:
        """``(Tmax mean, Tmin mean)`` as used for de-normalising."""
        if self.swapped_means:
            return self.tmin_mean, self.tmax_mean
        return self.tmax_mean, self.tmin_mean

    def shift(self, delta_t: float) -> np.ndarray:
        """Normalised shift of the three channels for a uniform ``delta_t`` K."""
        return np.array([delta_t / self.tmax_std, delta_t / self.tmin_std, 0.0], np.float32)

    def to_attrs(self) -> dict:
        """Settings as NetCDF attributes."""
        d = asdict(self)
        d["swapped_means"] = int(self.swapped_means)
        return {f"scaling_{k}": v for k, v in d.items()}


def raw_temperature(frames: xr.DataArray, scaling: TemperatureScaling) -> xr.DataArray:
    """De-normalise channels 0, 1 of ``frames(time, lat, lon, channel)`` to K."""
    mean_max, mean_min = scaling.means()
    tmax = frames.isel(channel=0) * scaling.tmax_std + mean_max
    tmin = frames.isel(channel=1) * scaling.tmin_std + mean_min
    out = xr.concat([tmax, tmin], dim=pd.Index(["tmax", "tmin"], name="channel"))
    return out.transpose("time", "lat", "lon", "channel").assign_attrs(units="K")


def cluster_region(in_near: xr.DataArray, cluster: xr.DataArray) -> xr.DataArray:
    """Union of the stations' in/near pixels per cluster (``unique_in_clusters``):
    ``in_near(station, lat, lon)`` and ``cluster(station)`` -> bool ``(cluster, lat, lon)``."""
    labels = cluster.sel(station=in_near["station"].values).rename("cluster")
    return in_near.astype(bool).groupby(labels).any("station")


def target_index(frames: xr.DataArray, target_times: Sequence | pd.DatetimeIndex) -> np.ndarray:
    """Index ``t`` of each target day in ``frames`` (its window is ``frames[t - lookback : t]``)."""
    start = pd.Timestamp(frames["time"].values[0])
    idx = (pd.DatetimeIndex(target_times) - start).days.to_numpy()
    if idx.min() < 0 or idx.max() > frames.sizes["time"]:
        raise DataError(
            "target days fall outside the input days",
            variable="target_times",
            expected=f"within {start.date()} .. one day past the last frame",
            found=f"{pd.Timestamp(target_times[0]).date()}..{pd.Timestamp(target_times[-1]).date()}",
        )
    return idx


def shifted_frames(
    frames: np.ndarray, delta_t: Sequence[float], scaling: TemperatureScaling, start: int = 0
) -> torch.Tensor:
    """``[P, D, H, W, C]`` copies of ``frames[D, H, W, C]``; copy p warmed by ``delta_t[p]`` K
    on days ``start`` onward."""
    base = torch.as_tensor(np.asarray(frames, np.float32))
    out = base[None].repeat(len(delta_t), 1, 1, 1, 1)
    for p, dt in enumerate(delta_t):
        out[p, start:] += torch.as_tensor(scaling.shift(float(dt)))
    return out


def predict_warming(
    predictor: Predictor,
    frames: xr.DataArray,
    target_times: pd.DatetimeIndex,
    delta_t: Sequence[float] = DELTA_T,
    scaling: TemperatureScaling | None = None,
) -> xr.DataArray:
    """Normalised flow ``(delta_t, time, station)`` with all input days warmed by ``delta_t``."""
    scaling = scaling or TemperatureScaling()
    targets = target_index(frames, target_times)
    first = int(targets.min()) - predictor.lookback
    days = frames.values[first : int(targets.max())]
    rows = []
    for dt in tqdm(list(delta_t), desc="warming", leave=False):
        block = predictor.predict_block(shifted_frames(days, [dt], scaling), targets - first)
        rows.append(torch.as_tensor(block)[0].numpy())
    return xr.DataArray(
        np.stack(rows),
        dims=("delta_t", "time", "station"),
        coords={
            "delta_t": np.asarray(delta_t, float),
            "time": pd.DatetimeIndex(target_times),
            "station": list(predictor.station_ids),
        },
        attrs={"units": "1", "long_name": "normalised modelled flow"},
    )


def seasonal_cycle(
    series: xr.DataArray, year_days: int = 365, smooth_days: int = 30
) -> xr.DataArray:
    """Fold ``series(..., time)`` into ``round(n / year_days)`` chunks from the first day, average
    them by position (``dayofyear`` 1..year_days) and apply a trailing ``smooth_days`` mean."""
    n = series.sizes["time"]
    n_chunks = max(1, int(round(n / year_days)))
    vals = series.transpose(..., "time").values
    pad = n_chunks * year_days - n
    if pad > 0:
        vals = np.concatenate([vals, np.repeat(vals[..., -1:], pad, axis=-1)], axis=-1)
    folded = vals[..., : n_chunks * year_days]
    folded = folded.reshape(*vals.shape[:-1], n_chunks, year_days).mean(axis=-2)
    dims = [d for d in series.transpose(..., "time").dims if d != "time"] + ["dayofyear"]
    coords = {d: series[d].values for d in dims[:-1] if d in series.coords}
    coords["dayofyear"] = np.arange(1, year_days + 1)
    out = xr.DataArray(folded, dims=dims, coords=coords)
    if smooth_days > 1:
        out = out.rolling(dayofyear=smooth_days, min_periods=1).mean()
    return out.assign_attrs(series.attrs)


def freezing_day(temperature: np.ndarray, threshold: float = FREEZING_K) -> float:
    """Spring freezing-transition day (0-based) of a smoothed seasonal temperature series.

    Sign changes of ``T - threshold``; with more than one, the list is split at the largest gap
    between consecutive crossings and the mean of the crossings before it is returned; with fewer
    than two crossings the published code returns 0 (METHODS.md section 5.2).
    """
    above = np.asarray(temperature) - threshold > 0
    cross = np.flatnonzero(above[1:] != above[:-1]).astype(float) + 1
    if len(cross) < 2:
        return 0.0
    gap = int(np.argmax(np.diff(cross)))
    return float(cross[: gap + 1].mean())


def freshet_metrics(flow: np.ndarray, tolerance: float = 0.1) -> tuple[float, float, float]:
    """``(t_half, t_peak, q_max)`` of a smoothed seasonal flow curve (days 0-based).

    ``q = flow - min(flow)``; ``t_peak`` is the earliest local maximum above half the maximum,
    ``q_max = q[t_peak]``; ``t_half`` is the first day with ``|q - q_max / 2| < tolerance`` before
    the peak, or (when no day is that close) the first day with ``q >= q_max / 2``.
    """
    q = np.asarray(flow, float) - np.nanmin(flow)
    inner = (q[1:-1] > q[:-2]) & (q[1:-1] >= q[2:]) & (q[1:-1] > 0.5 * q.max())
    peaks = np.flatnonzero(inner) + 1
    t_peak = int(peaks[0]) if len(peaks) else int(np.argmax(q))
    q_max = float(q[t_peak])
    close = np.flatnonzero(np.abs(q[: t_peak + 1] - 0.5 * q_max) < tolerance)
    if len(close) == 0:
        close = np.flatnonzero(q[: t_peak + 1] >= 0.5 * q_max)
    return float(close[0]), float(t_peak), q_max


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def cluster_temperature_cycle(
    frames: xr.DataArray,
    target_times: pd.DatetimeIndex,
    region: xr.DataArray,
    delta_t: Sequence[float],
    scaling: TemperatureScaling,
    smooth_days: int = 30,
) -> xr.DataArray:
    """Raw Tmin/Tmax + dT, trailing-smoothed per pixel, mean over each cluster's region pixels,
    folded by year: ``(delta_t, cluster, channel, dayofyear)`` in K."""
    raw = raw_temperature(frames, scaling)
    raw = raw.sel(time=slice(pd.Timestamp(target_times[0]), pd.Timestamp(target_times[-1])))
    raw = raw.rolling(time=smooth_days, min_periods=1).mean()
    w = region.astype(float)
    mean = (raw * w).sum(("lat", "lon")) / w.sum(("lat", "lon"))
    cyc = seasonal_cycle(mean.transpose("cluster", "channel", "time"), smooth_days=1)
    dts = xr.DataArray(np.asarray(delta_t, float), dims="delta_t", name="delta_t")
    out = cyc + dts.assign_coords(delta_t=dts.values)
    return out.transpose("delta_t", "cluster", "channel", "dayofyear").assign_attrs(units="K")


def warming_experiment(
    predictor: Predictor,
    frames: xr.DataArray,
    target_times: pd.DatetimeIndex,
    cluster: xr.DataArray,
    region: xr.DataArray,
    delta_t: Sequence[float] = DELTA_T,
    scaling: TemperatureScaling | None = None,
    smooth_days: int = 30,
    tolerance: float = 0.1,
) -> xr.Dataset:
    """Run the warming/cooling experiment.

    Parameters
    ----------
    predictor
        The (fine-tuned, routed) ensemble or the simulator; normalised flow at its stations.
    frames
        Normalised input days ``(time, lat, lon, channel)``.
    target_times
        The evaluation days (the mini year: 2011-01-01 .. 2011-12-31).
    cluster
        Cluster label of each of the predictor's stations, ``(station)``.
    region
        Boolean ``(cluster, lat, lon)``: each cluster's in/near pixels (``unique_in_clusters``).
    delta_t
        Uniform temperature shifts in K (published ``linspace(+5, -5, 11)``).
    scaling
        Temperature normalisation constants (:class:`TemperatureScaling`).
    smooth_days, tolerance
        Trailing smoothing window (days) and the ``t_half`` tolerance (normalised flow).

    Returns
    -------
    xarray.Dataset
        ``flow(delta_t, cluster, dayofyear)``, ``freshet_day``, ``peak_day``, ``peak_flow``,
        ``freezing_day`` (Tmin), ``freezing_day_tmax`` ``(delta_t, cluster)`` and the slopes of
        each against ``delta_t`` ``(cluster)``.
    """
    scaling = scaling or TemperatureScaling()
    flow = predict_warming(predictor, frames, target_times, delta_t, scaling)
    labels = cluster.sel(station=flow["station"].values)
    cl_flow = flow.groupby(labels.rename("cluster")).mean("station")
    cyc = seasonal_cycle(cl_flow.transpose("delta_t", "cluster", "time"), smooth_days=smooth_days)
    temp = cluster_temperature_cycle(
        frames,
        target_times,
        region.sel(cluster=cyc["cluster"].values),
        delta_t,
        scaling,
        smooth_days,
    )
    ds = xr.Dataset({"flow": cyc.assign_attrs(units="1", long_name="smoothed cluster-mean flow")})
    metrics = np.array(
        [
            [freshet_metrics(cyc.values[i, j], tolerance) for j in range(cyc.sizes["cluster"])]
            for i in range(cyc.sizes["delta_t"])
        ]
    )
    dims = ("delta_t", "cluster")
    ds["freshet_day"] = (
        dims,
        metrics[..., 0],
        {"long_name": "freshet onset t_half", "units": "day"},
    )
    ds["peak_day"] = (dims, metrics[..., 1], {"long_name": "freshet peak t_peak", "units": "day"})
    ds["peak_flow"] = (dims, metrics[..., 2], {"long_name": "Q_max above minimum", "units": "1"})
    for name, ch in (("freezing_day", "tmin"), ("freezing_day_tmax", "tmax")):
        t0 = np.apply_along_axis(freezing_day, -1, temp.sel(channel=ch).values)
        ds[name] = (dims, t0, {"long_name": f"spring {ch} = 0 C transition", "units": "day"})
    ds["temperature"] = temp.transpose("delta_t", "cluster", "channel", "dayofyear")
    x = ds["delta_t"].values
    for name in ("freshet_day", "peak_day", "peak_flow", "freezing_day"):
        slopes = [_slope(x, ds[name].values[:, j]) for j in range(ds.sizes["cluster"])]
        ds[f"{name}_slope"] = ("cluster", np.array(slopes), {"units": f"{ds[name].units} K-1"})
    ds.attrs.update(scaling.to_attrs())
    ds.attrs.update(
        {
            "smooth_days": smooth_days,
            "t_half_tolerance": tolerance,
            "n_years": int(round(len(target_times) / 365)),
            "experiment": "warming",
        }
    )
    return ds


class TemperatureShift(Experiment):
    """Base of the experiments that shift the input temperatures by ``delta_t``."""

    delta_t: tuple[float, ...] = Field(
        tuple(float(x) for x in DELTA_T), description="temperature shifts (K)"
    )
    swapped_means: bool = Field(
        False, description="reproduce the mini notebook's swapped Tmax/Tmin means"
    )
    quick: ClassVar[dict[str, Any]] = {"delta_t": [5.0, 0.0, -5.0]}

    def scaling(self, inputs: ExperimentInputs) -> TemperatureScaling:
        """The de-normalisation of the temperature channels of ``inputs``."""
        return TemperatureScaling.from_constants(
            inputs.channel_mean, inputs.channel_std, self.swapped_means
        )


class Warming(TemperatureShift):
    """Uniform warming/cooling (dT = +5..-5 K): freshet timing and peak per cluster against the
    freezing-transition day (HESS Fig 9, 10); cluster regions are the union of the stations'
    in/near pixels. Result: ``experiments/warming.nc``."""

    name: ClassVar[str] = "warming"
    title: ClassVar[str] = "Uniform warming/cooling: freshet timing and peak"
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_freshet_tracking,
            "warming_freshet_tracking",
            "Cluster-mean seasonal flow under uniform ΔT from +5 to −5 K with the Tmin/Tmax ="
            " 0 °C transitions, like HESS Fig 9.",
        ),
        Figure(
            plot_freshet_vs_freezing,
            "freshet_vs_freezing",
            "Freshet onset and peak against the spring freezing transition under ΔT (HESS Fig 10).",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"warming": score_warming}

    smooth_days: int = Field(30, ge=1, description="trailing mean of the seasonal cycle (days)")

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """The warming experiment on ``inputs``' predictor."""
        st = inputs.stations
        region = cluster_region(st["in_near"], st["cluster"])
        return warming_experiment(
            inputs.predictor,
            inputs.frames,
            inputs.target_times,
            st["cluster"],
            region,
            list(self.delta_t),
            self.scaling(inputs),
            self.smooth_days,
        )
