"""August temperature test in glacierised basins (HESS, METHODS.md section 5.3).

For the 31 samples ``d = 0..30`` whose targets are days 213..243 of the evaluation year (0-based:
Aug 2 .. Sep 1), only the last ``d mod 30`` input days (the August days before the target) are
warmed by ``dT``; the ensemble-mean flow, averaged over the samples, is regressed on ``dT`` per
station (OLS slope, normalised flow per K) and compared across glacier-cover classes.

Every sample with ``k > 0`` perturbed days perturbs the days from ``target - k`` on; for the
published rule this start day is the same for all of them (the first August target's day), so one
warmed copy of the inputs per ``dT`` serves every sample and the unperturbed copy serves the
samples with ``k = 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.errors import DataError
from hydrointerp.experiments.base import Figure
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.warming import (
    DELTA_T,
    TemperatureScaling,
    TemperatureShift,
    shifted_frames,
    target_index,
)
from hydrointerp.fidelity.scorers import score_august
from hydrointerp.plots.august import plot_august
from hydrointerp.predictor import Predictor

#: Glacier-cover class edges (fraction): G = 0, (0, 1 %], (1, 10 %], (10, 100 %].
GLACIER_CLASS_EDGES: tuple[float, ...] = (0.0, 0.01, 0.1, 1.0)
GLACIER_CLASS_NAMES: tuple[str, ...] = ("G = 0", "0 < G <= 1%", "1% < G <= 10%", "G > 10%")


def glacier_class(glacier_fraction: xr.DataArray) -> xr.DataArray:
    """Class 0..3 of each station's glacier fraction (HESS Fig 11)."""
    g = glacier_fraction.values.astype(float)
    cls = np.where(g <= 0, 0, np.searchsorted(GLACIER_CLASS_EDGES, g, side="left"))
    return xr.DataArray(
        np.clip(cls, 0, 3).astype(int),
        dims=glacier_fraction.dims,
        coords=glacier_fraction.coords,
        name="glacier_class",
        attrs={
            "long_name": "glacier-cover class",
            "flag_values": [0, 1, 2, 3],
            "flag_meanings": "no_glacier glacier_0_to_1_percent glacier_1_to_10_percent"
            " glacier_over_10_percent",
            "class_names": " | ".join(GLACIER_CLASS_NAMES),
        },
    )


def perturbed_days(n_samples: int = 31, period: int = 30) -> np.ndarray:
    """Number of trailing input days warmed for each sample (published: ``d mod 30``)."""
    return np.arange(n_samples) % period


def august_response(
    predictor: Predictor,
    frames: xr.DataArray,
    targets: Sequence[int],
    n_days: Sequence[int],
    delta_t: Sequence[float] = DELTA_T,
    scaling: TemperatureScaling | None = None,
) -> np.ndarray:
    """Flow ``[delta_t, sample, station]`` with the last ``n_days[i]`` days before ``targets[i]``
    warmed (one predictor pass per distinct warming start day and ``dT``)."""
    scaling = scaling or TemperatureScaling()
    t = np.asarray(targets, int)
    k = np.asarray(n_days, int)
    first = int(t.min()) - predictor.lookback
    days = frames.values[first : int(t.max())]
    local = t - first
    base = torch.as_tensor(predictor.predict_block(days[None], local))[0].numpy()
    out = np.repeat(base[None], len(delta_t), axis=0)
    starts = local - k
    for start in np.unique(starts[k > 0]):
        pick = np.flatnonzero((starts == start) & (k > 0))
        for i, dt in enumerate(tqdm(list(delta_t), desc="august", leave=False)):
            warmed = shifted_frames(days, [dt], scaling, start=int(start))
            out[i][pick] = torch.as_tensor(predictor.predict_block(warmed, local[pick]))[0].numpy()
    return out


def ols_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS slope of each column of ``y[len(x), n]`` against ``x``."""
    xc = x - x.mean()
    return (xc[:, None] * (y - y.mean(axis=0))).sum(axis=0) / (xc**2).sum()


def august_experiment(
    predictor: Predictor,
    frames: xr.DataArray,
    target_times: pd.DatetimeIndex,
    glacier_fraction: xr.DataArray,
    delta_t: Sequence[float] = DELTA_T,
    scaling: TemperatureScaling | None = None,
    first_day: int = 213,
    n_samples: int = 31,
    period: int = 30,
) -> xr.Dataset:
    """Run the August test.

    Parameters
    ----------
    predictor
        The fine-tuned (routed) ensemble or the simulator.
    frames
        Normalised input days ``(time, lat, lon, channel)``.
    target_times
        The evaluation year's days; samples are its days ``first_day .. first_day + n_samples - 1``
        (0-based, published 213..243).
    glacier_fraction
        ``(station)`` glacier fraction (0..1) of the predictor's stations.
    delta_t, scaling
        Temperature shifts (K) and channel constants.
    period
        Sample ``d`` warms the last ``d mod period`` input days.

    Returns
    -------
    xarray.Dataset
        ``slope(station)`` (normalised flow per K), ``glacier_fraction``, ``glacier_class``,
        ``response(delta_t, station)`` (sample-mean flow).
    """
    times = pd.DatetimeIndex(target_times)
    if len(times) < first_day + n_samples:
        raise DataError(
            "the evaluation period is too short for the August samples",
            variable="target_times",
            expected=f">= {first_day + n_samples} days",
            found=len(times),
        )
    sample_times = times[first_day : first_day + n_samples]
    flow = august_response(
        predictor,
        frames,
        target_index(frames, sample_times),
        perturbed_days(n_samples, period),
        delta_t,
        scaling,
    )
    response = flow.mean(axis=1)
    x = np.asarray(delta_t, float)
    ids = list(predictor.station_ids)
    g = glacier_fraction.sel(station=ids)
    ds = xr.Dataset(
        {
            "slope": (
                "station",
                ols_slope(x, response),
                {"long_name": "dQ_Aug/dT_Aug", "units": "K-1"},
            ),
            "glacier_fraction": ("station", g.values.astype(float), {"units": "1"}),
            "glacier_class": glacier_class(g.assign_coords(station=ids)),
            "response": (
                ("delta_t", "station"),
                response,
                {"long_name": "sample-mean normalised flow", "units": "1"},
            ),
        },
        coords={"station": ids, "delta_t": x},
    )
    ds["delta_t"].attrs["units"] = "K"
    ds.attrs.update(
        experiment="august",
        first_sample_day=str(sample_times[0].date()),
        last_sample_day=str(sample_times[-1].date()),
        period=period,
        **(scaling or TemperatureScaling()).to_attrs(),
    )
    return ds


def class_medians(ds: xr.Dataset) -> xr.DataArray:
    """Median slope per glacier class ``(glacier_class)``."""
    return ds["slope"].groupby(ds["glacier_class"]).median()


class August(TemperatureShift):
    """August temperature test: only the trailing August input days warmed; slope dQ/dT per
    station against glacier cover, by glacier class (HESS Fig 11). Result:
    ``experiments/august.nc``."""

    name: ClassVar[str] = "august"
    title: ClassVar[str] = "August temperature test in glacierised basins"
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_august,
            "august_dQ_dT_glaciers",
            "August temperature sensitivity against glacier cover (HESS Fig 11): the slope"
            " grows with glacier cover.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {"august": score_august}

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """The August test on ``inputs``' predictor."""
        return august_experiment(
            inputs.predictor,
            inputs.frames,
            inputs.target_times,
            inputs.stations["glacier_fraction"],
            list(self.delta_t),
            self.scaling(inputs),
        )

    def summary(self, result: xr.Dataset) -> str:
        """The median slope per glacier class."""
        return "median slope per glacier class: " + ", ".join(
            f"{v:.4f}" for v in class_medians(result).values
        )
