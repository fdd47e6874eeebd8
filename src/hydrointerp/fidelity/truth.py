"""The exact contribution truth of the process simulator (Mamalakis-style additive truth).

The simulator's gauge flow is a sum over grid cells of routed cell runoff, and a cell's runoff
depends on that cell's weather only. So for a station ``s``, a target day ``t`` and a stated
baseline weather ``b``, the flow anomaly splits exactly over cells:

``Q_s(x) - Q_s(b) = sum_i w_si [r_i(x_i) - r_i(b_i)]``

where ``r_i`` is cell ``i``'s runoff on day ``t`` after its look-back window (both runs start
from the unperturbed storages at the window start, the network's information set) and ``w_si``
its routing weight to the station. Each term is the cell's **contribution** (m3/s): the
attribution an additive explanation of this flow anomaly should give the cell, summed over the
window's days and channels. Channels do not split additively within a cell (snow needs cold *and*
precipitation), so their truth is a counterfactual per channel instead.

Baselines (``baseline``):

* ``"climatology"`` (default) -- each cell's day-of-year mean of the input days: the question
  "which cells made this day's flow differ from a climatological day's";
* ``"zero"`` -- the normalised zero, i.e. the training mean of each channel everywhere (the
  baseline of integrated gradients with a zero baseline).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.errors import ConfigError, DataError

BASELINES = ("climatology", "zero")


def baseline_frames(frames: xr.DataArray, baseline: str = "climatology") -> xr.DataArray:
    """The baseline weather in the frames' (normalised) space, same shape and labels."""
    if baseline == "zero":
        return xr.zeros_like(frames)
    if baseline == "climatology":
        doy = np.minimum(pd.DatetimeIndex(frames["time"].values).day_of_year, 365)
        key = xr.DataArray(doy, dims="time", coords={"time": frames["time"]}, name="doy")
        clim = frames.groupby(key).mean("time")
        return clim.sel(doy=key).drop_vars("doy").transpose(*frames.dims).astype(frames.dtype)
    raise ConfigError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def _check_simulator(predictor: object) -> None:
    if not hasattr(predictor, "cell_runoff_block"):
        raise DataError(
            "the contribution truth needs the process simulator",
            variable="predictor",
            expected="SimulatorPredictor",
            found=type(predictor).__name__,
        )


def cell_contributions(
    inputs: object, baseline: str = "climatology", block: int = 64
) -> xr.DataArray:
    """Exact contribution of every cell to every station's flow on every target day.

    Parameters
    ----------
    inputs
        :class:`~hydrointerp.experiments.inputs.ExperimentInputs` whose predictor is the
        simulator (:class:`~hydrointerp.data.virtual_predictor.SimulatorPredictor`).
    baseline
        ``"climatology"`` or ``"zero"`` (module docstring).
    block
        Target days simulated at once.

    Returns
    -------
    xarray.DataArray
        ``contribution(station, time, lat, lon)`` in m3/s; 0 outside each station's basin.
        Its sum over ``lat, lon`` is the flow anomaly ``Q(x) - Q(baseline)`` (exact to
        rounding).
    """
    pred = inputs.predictor  # type: ignore[attr-defined]
    _check_simulator(pred)
    frames = inputs.frames  # type: ignore[attr-defined]
    both = np.stack(
        [frames.values.astype(np.float32), baseline_frames(frames, baseline).values],
    )
    targets = inputs.target_indices()  # type: ignore[attr-defined]
    sim = pred.sim
    start = pd.Timestamp(frames["time"].values[0])
    diffs = []
    for k in range(0, targets.size, block):
        r = pred.cell_runoff_block(both, targets[k : k + block], start)  # [2, T, src, cell]
        diffs.append((r[0] - r[1]).sum(axis=1))  # [T, cell] mm/day
    diff = np.concatenate(diffs) if diffs else np.zeros((0, sim.n_cells))
    per = diff[:, None, :] * sim.weights.T[None, :, :]  # [T, station, cell] m3/s
    n_lat, n_lon = frames.sizes["lat"], frames.sizes["lon"]
    grid = np.zeros((per.shape[1], per.shape[0], n_lat * n_lon), dtype=np.float64)
    # accumulate: a region simulated per (station, cell) unit (the twin) has several units on
    # one cell, each routed to its own station only
    flat = sim.rows * n_lon + sim.cols
    np.add.at(grid, (slice(None), slice(None), flat), np.moveaxis(per, 1, 0))
    grid = grid.reshape(per.shape[1], per.shape[0], n_lat, n_lon)
    out = xr.DataArray(
        grid.astype(np.float32),
        dims=("station", "time", "lat", "lon"),
        coords={
            "station": inputs.stations["station"].values,  # type: ignore[attr-defined]
            "time": inputs.target_times,  # type: ignore[attr-defined]
            "lat": frames["lat"].values,
            "lon": frames["lon"].values,
        },
        name="contribution",
        attrs={
            "long_name": "exact contribution of the cell to the flow anomaly",
            "units": "m3 s-1",
            "baseline": baseline,
        },
    )
    return out


def channel_counterfactuals(
    inputs: object, baseline: str = "climatology", block: int = 64
) -> xr.DataArray:
    """``Q(x) - Q(x with channel c at the baseline everywhere)`` per station, day and channel
    (m3/s): the truth of "how much did temperature / precipitation matter for this flow"."""
    pred = inputs.predictor  # type: ignore[attr-defined]
    _check_simulator(pred)
    frames = inputs.frames  # type: ignore[attr-defined]
    base = baseline_frames(frames, baseline).values
    x = frames.values.astype(np.float32)
    variants = [x]
    for c in range(frames.sizes["channel"]):
        v = x.copy()
        v[..., c] = base[..., c]
        variants.append(v)
    stack = np.stack(variants)
    targets = inputs.target_indices()  # type: ignore[attr-defined]
    start = pd.Timestamp(frames["time"].values[0])
    flows = []
    for k in range(0, targets.size, block):
        r = pred.cell_runoff_block(stack, targets[k : k + block], start)
        flows.append(pred.sim.to_flow(r).sum(axis=-1))  # [P, T, station]
    q = np.concatenate(flows, axis=1) if flows else np.zeros((len(variants), 0, 0))
    effect = q[0][None] - q[1:]  # [C, T, station]
    return xr.DataArray(
        np.moveaxis(effect, 0, -1).transpose(1, 0, 2).astype(np.float32),
        dims=("station", "time", "channel"),
        coords={
            "station": inputs.stations["station"].values,  # type: ignore[attr-defined]
            "time": inputs.target_times,  # type: ignore[attr-defined]
            "channel": frames["channel"].values,
        },
        name="channel_effect",
        attrs={"units": "m3 s-1", "baseline": baseline},
    )


def contribution_dataset(inputs: object, baseline: str = "climatology") -> xr.Dataset:
    """The ``contribution`` control (``experiments/controls/contribution/<stem>.nc``): cell
    contributions, their time-mean magnitude (the heat-map truth) and the channel
    counterfactuals."""
    c = cell_contributions(inputs, baseline)
    ds = xr.Dataset(
        {
            "contribution": c,
            "contribution_magnitude": np.abs(c)
            .mean("time")
            .assign_attrs(long_name="time-mean |contribution| (heat-map truth)", units="m3 s-1"),
            "channel_effect": channel_counterfactuals(inputs, baseline),
        }
    )
    ds.attrs.update(baseline=baseline, truth="exact additive contribution of the simulator")
    return ds


def glacial_melt(
    region: xr.Dataset, threshold: float = 0.01, stations: np.ndarray | None = None
) -> xr.DataArray:
    """Mean true glacier-melt component of the glacial stations (``glacier_fraction >
    threshold``; ``stations``: a boolean mask choosing some of them), each z-scored first,
    ``(time)``: the truth of Experiment 4."""
    glacial = region["glacier_fraction"] > threshold
    if stations is not None:
        glacial = glacial & xr.DataArray(np.asarray(stations, bool), dims="station")
    if not bool(glacial.any()):
        raise DataError(
            "no glacial station in the region",
            variable="glacier_fraction",
            expected=f"some > {threshold}",
            found=float(region["glacier_fraction"].max()),
        )
    melt = region["flow_component"].sel(component="glacier_melt").isel(station=glacial.values)
    z = (melt - melt.mean("time")) / melt.std("time").where(melt.std("time") > 0)
    return z.mean("station", skipna=True).rename("glacier_melt")
