"""Experiment 4: glacier runoff in LSTM cell states (Frontiers, METHODS.md section 6.4).

Each of a cluster's fine-tuned models runs on one year of inputs; every step's cell state
``c_t`` is recorded. Units whose dense-head weights correlate with the stations' glacier fractions
(p < 0.05) are kept, sign-aligned (flipped where r < 0), pooled over the ensemble, z-scored and
split into two groups by Ward clustering. The group that rises in June and is highest in
Jul-Sep is the "glacier-runoff-like" group; its mean is the cell-state pattern, related to
``max(Tmean, 273 K)`` over the cluster region through residuals from a 30-day centred rolling
mean, lagged correlations and a 60-day rolling correlation at the best lag.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field
from sklearn.cluster import AgglomerativeClustering

from hydrointerp.errors import DataError
from hydrointerp.experiments.base import Experiment, Figure
from hydrointerp.experiments.curves import residual
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.lstm_states import (
    cluster_members,
    last_window,
    record_cell_states,
    weight_glacier_correlation,
)
from hydrointerp.experiments.probe import probe_from_inputs
from hydrointerp.experiments.warming import (
    FREEZING_K,
    TemperatureScaling,
    cluster_region,
    raw_temperature,
)
from hydrointerp.fidelity.decoding import decoding_from_inputs
from hydrointerp.fidelity.state_scores import score_cell_states, score_decoding
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.plots.cell_states import plot_cell_state_panels


class CellStates(Experiment):
    """Experiment 4: glacier runoff in LSTM cell states of one cluster's networks (defaults:
    METHODS.md section 6.4). Result: ``experiments/cell_states.nc``; on a region with truth also
    ``probe.nc`` and ``decoding.nc`` (:meth:`truth_outputs`).

    Attributes
    ----------
    cluster
        The cluster whose networks are read (default: the most glacierised).
    p_threshold
        Units are kept when the weight-vs-glacier-fraction correlation has p below this.
    n_groups
        Ward groups of the pooled z-scored states.
    floor_k
        Temperature floor (K): the series is ``max(Tmean, floor_k)``.
    published_shift
        ``True`` reproduces the published +1 day shift of the temperature series (entry k is the
        day after cell-state step k; the missing last day repeats the previous one).
    seasonal_window, rolling_window
        Centred rolling mean for the residuals, and the rolling-correlation window (days).
    max_lag
        Lags 0..max_lag (days) of temperature leading the state.
    melt_start, melt_end
        Window starts between these month-days count as melt season ("06-15", "09-15").
    """

    name: ClassVar[str] = "cell_states"
    title: ClassVar[str] = "Experiment 4: glacier runoff in LSTM cell states"
    on_simulator: ClassVar[bool] = False
    figures: ClassVar[tuple[Figure, ...]] = (
        Figure(
            plot_cell_state_panels,
            "cell_state_panels",
            "(a) positive mean temperature and the glacier-like cell-state pattern; (b) their"
            " lagged residuals; (c) 60-day rolling correlation, like Frontiers"
            " cell_state_panels.png.",
        ),
    )
    scores: ClassVar[dict[str, Any]] = {
        "cell_states": score_cell_states,
        "decoding": score_decoding,
    }

    cluster: int | None = Field(None, description="cluster label (None: the most glacierised)")
    p_threshold: float = Field(0.05, gt=0, le=1, description="p of the weight-glacier test")
    n_groups: int = Field(2, ge=2, description="Ward groups of the pooled states")
    floor_k: float = Field(FREEZING_K, description="temperature floor (K)")
    published_shift: bool = Field(False, description="the published +1 day temperature shift")
    seasonal_window: int = Field(30, ge=1, description="centred mean of the residuals (days)")
    rolling_window: int = Field(60, ge=2, description="rolling-correlation window (days)")
    max_lag: int = Field(10, ge=0, description="lags of temperature leading the state (days)")
    melt_start: str = Field("06-15", description="melt season start (month-day)")
    melt_end: str = Field("09-15", description="melt season end (month-day)")

    def to_attrs(self) -> dict:
        """The experiment's own settings as NetCDF attributes."""
        own = self.own_settings()
        own.pop("cluster")  # recorded apart, as the cluster the result is about
        return {f"setting_{k}": int(v) if isinstance(v, bool) else v for k, v in own.items()}

    def chosen_cluster(self, inputs: ExperimentInputs) -> int:
        """``cluster``, or the cluster with the highest mean glacier fraction."""
        if self.cluster is not None:
            return int(self.cluster)
        st = inputs.stations
        g = st["glacier_fraction"].groupby(st["cluster"].rename("k")).mean()
        return int(g["k"].values[int(np.argmax(g.values))])

    def run(self, inputs: ExperimentInputs, progress: bool = False) -> xr.Dataset:
        """Experiment 4 for one cluster of the inputs' ensemble, on the window of the last
        target day, with temperature over the cluster's in/near pixels."""
        cluster = self.chosen_cluster(inputs)
        members, ids = cluster_members(inputs, cluster)
        st = inputs.stations
        region = cluster_region(st["in_near"], st["cluster"])
        labels = st["cluster"].sel(station=ids).values
        mask = region.sel(cluster=np.unique(labels)).any("cluster")
        scaling = TemperatureScaling.from_constants(inputs.channel_mean, inputs.channel_std)
        temperature = region_mean_temperature(inputs.frames, mask, scaling)
        ds = cell_state_experiment(
            members,
            last_window(inputs),
            st["glacier_fraction"].sel(station=ids),
            temperature,
            self,
        )
        ds.attrs["cluster"] = int(cluster)
        return ds

    def truth_stems(self, region: xr.Dataset) -> tuple[str, ...]:
        """``probe`` and ``decoding`` on a region with truth and glaciers (cover above 1 %)."""
        if "flow_component" not in region or not bool((region["glacier_fraction"] > 0.01).any()):
            return ()
        return ("probe", "decoding")

    def truth_outputs(
        self, inputs: ExperimentInputs, result: xr.Dataset, region: xr.Dataset, seed: int = 0
    ) -> dict[str, xr.Dataset]:
        """On a region with glaciers and truth: the probe of the selected units against the
        true glacier melt, and the decoding control (:mod:`hydrointerp.fidelity.decoding`)."""
        if not self.truth_stems(region):
            return {}
        cluster = int(result.attrs.get("cluster", 0))
        return {
            "probe": probe_from_inputs(inputs, region, cluster),
            "decoding": decoding_from_inputs(inputs, region, cluster, seed),
        }

    def summary(self, result: xr.Dataset) -> str:
        """Units selected, group sizes and the best lag."""
        a = result.attrs
        return (
            f"{a['n_selected_units']} units selected, groups {a['group_sizes']},"
            f" best lag {a['best_lag']} d"
        )


def zscore(series: np.ndarray) -> np.ndarray:
    """Z-score each row over time (constant rows become 0)."""
    sd = series.std(axis=-1, keepdims=True)
    return (series - series.mean(axis=-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


def ward_groups(series: np.ndarray, n_groups: int = 2) -> np.ndarray:
    """Ward labels of the rows of ``series[n, T]``."""
    if len(series) < n_groups:
        raise DataError(
            "too few selected units to form groups",
            variable="cell_state",
            expected=f">= {n_groups} units",
            found=len(series),
        )
    return AgglomerativeClustering(n_clusters=n_groups, linkage="ward").fit_predict(series)


def glacier_group(z: np.ndarray, labels: np.ndarray, time: pd.DatetimeIndex) -> int:
    """The group highest in Jul-Sep (the glacier-runoff-like one)."""
    summer = time.month.isin([7, 8, 9])
    means = {int(k): float(z[labels == k][:, summer].mean()) for k in np.unique(labels)}
    return max(means, key=means.get)


def lagged_correlation(lead: np.ndarray, lag: np.ndarray, max_lag: int) -> np.ndarray:
    """``r[L] = corr(lead[t], lag[t + L])`` for L = 0..max_lag (``lead`` leads)."""
    n = len(lead)
    return np.array([np.corrcoef(lead[: n - k], lag[k:])[0, 1] for k in range(max_lag + 1)])


def rolling_correlation(
    lead: np.ndarray, lag: np.ndarray, best_lag: int, window: int
) -> np.ndarray:
    """Correlation in ``window``-day windows of the pair at ``best_lag``; one value per start."""
    a = lead[: len(lead) - best_lag]
    b = lag[best_lag:]
    return np.array(
        [
            np.corrcoef(a[i : i + window], b[i : i + window])[0, 1]
            for i in range(len(a) - window + 1)
        ]
    )


def region_mean_temperature(
    frames: xr.DataArray, region: xr.DataArray, scaling: TemperatureScaling | None = None
) -> xr.DataArray:
    """Mean over ``region(lat, lon)`` pixels of ``(Tmax + Tmin) / 2`` in K, ``(time)``."""
    raw = raw_temperature(frames, scaling or TemperatureScaling()).mean("channel")
    w = region.astype(float)
    out = (raw * w).sum(("lat", "lon")) / w.sum(("lat", "lon"))
    return out.assign_attrs(units="K", long_name="region-mean daily mean temperature")


def aligned_temperature(
    temperature: xr.DataArray, time: pd.DatetimeIndex, published_shift: bool, floor_k: float
) -> np.ndarray:
    """``max(T, floor_k)`` on each cell-state day (or the day after, with ``published_shift``)."""
    days = time + pd.Timedelta(days=1) if published_shift else time
    t = temperature.reindex(time=days, method=None).to_series().ffill().to_numpy()
    if np.isnan(t).any():
        raise DataError(
            "temperature missing on cell-state days",
            variable="temperature",
            expected=f"{days[0].date()}..{days[-1].date()}",
            found=f"{int(np.isnan(t).sum())} missing",
        )
    return np.maximum(t, floor_k)


def _select_units(
    members: Sequence[CNNLSTM], window: np.ndarray, glacier_fraction: np.ndarray, p_thr: float
) -> tuple[np.ndarray, ...]:
    states, rs, ps = [], [], []
    for model in members:
        states.append(record_cell_states(model, window).T)  # [units, T]
        r, p = weight_glacier_correlation(model, glacier_fraction)
        rs.append(r)
        ps.append(p)
    states, r, p = np.stack(states), np.stack(rs), np.stack(ps)
    selected = p < p_thr
    signed = states * np.where(r < 0, -1.0, 1.0)[..., None]
    return signed, r, p, selected


def _finite_mean(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    ok = np.isfinite(values)
    return float(values[ok].mean()) if ok.any() else float("nan")


def _mean_rows(rows: np.ndarray, pick: np.ndarray, n_time: int) -> np.ndarray:
    """Mean of the picked rows (NaN when none is picked)."""
    return rows[pick].mean(axis=0) if pick.any() else np.full(n_time, np.nan)


def _groups(pooled: np.ndarray, time: pd.DatetimeIndex, n_groups: int) -> tuple[np.ndarray, int]:
    """Ward labels and the glacier-like group; with fewer selected units than groups, one group
    (or none) and a warning instead of an error, so a study with weak models still finishes."""
    if len(pooled) >= n_groups:
        labels = ward_groups(pooled, n_groups)
        return labels, glacier_group(pooled, labels, time)
    warnings.warn(
        f"only {len(pooled)} cell-state units selected (need {n_groups} for the groups); "
        "the pattern is their mean"
        if len(pooled)
        else "no cell-state unit selected; no pattern",
        stacklevel=3,
    )
    return np.zeros(len(pooled), int), 0 if len(pooled) else -1


def cell_state_experiment(
    members: Sequence[CNNLSTM],
    window: xr.DataArray,
    glacier_fraction: xr.DataArray,
    temperature: xr.DataArray,
    settings: CellStates | None = None,
) -> xr.Dataset:
    """Run Experiment 4.

    Parameters
    ----------
    members
        The cluster's fine-tuned models (their heads' outputs are the cluster's stations).
    window
        One input window ``(time, lat, lon, channel)`` of normalised days (the published: the
        365 days of 2011).
    glacier_fraction
        ``(station)`` glacier fraction of the models' output stations, in output order.
    temperature
        ``(time)`` region-mean daily mean temperature in K (:func:`region_mean_temperature`),
        covering the window (and the day after for ``published_shift``).
    settings
        :class:`CellStates`.

    Returns
    -------
    xarray.Dataset
        ``cell_state(member, unit, time)`` (sign-aligned, NaN for unselected units),
        ``weight_glacier_r``/``weight_glacier_p``/``selected``/``group(member, unit)``
        (group -1 when not selected), ``group_mean(group, time)``, ``pattern(time)``,
        ``temperature(time)``, ``pattern_residual``/``temperature_residual(time)``,
        ``lag_correlation(lag)``, ``rolling_correlation(window_start)`` and summary attributes.
    """
    st = settings or CellStates()
    time = pd.DatetimeIndex(window["time"].values)
    signed, r, p, selected = _select_units(
        members, window.values, glacier_fraction.values, st.p_threshold
    )
    pooled = zscore(signed[selected])
    labels, glacial = _groups(pooled, time, st.n_groups)
    group = np.full(selected.shape, -1, int)
    group[selected] = labels
    pattern = _mean_rows(pooled, labels == glacial, len(time))
    temp = aligned_temperature(temperature, time, st.published_shift, st.floor_k)
    t_res = residual(temp, st.seasonal_window)
    s_res = residual(pattern, st.seasonal_window)
    lag_r = lagged_correlation(t_res, s_res, st.max_lag)
    best = int(np.nanargmax(lag_r)) if np.isfinite(lag_r).any() else 0
    roll = rolling_correlation(t_res, s_res, best, st.rolling_window)
    starts = time[: len(roll)]
    md = starts.strftime("%m-%d")
    melt = (md >= st.melt_start) & (md <= st.melt_end)
    ds = xr.Dataset(
        {
            "cell_state": (
                ("member", "unit", "time"),
                np.where(selected[..., None], signed, np.nan),
                {"long_name": "sign-aligned LSTM cell state of selected units"},
            ),
            "weight_glacier_r": (
                ("member", "unit"),
                r,
                {"long_name": "Pearson r of head weights vs glacier fraction"},
            ),
            "weight_glacier_p": (("member", "unit"), p, {"long_name": "two-sided p of that r"}),
            "selected": (("member", "unit"), selected),
            "group": (("member", "unit"), group, {"long_name": "Ward group (-1 not selected)"}),
            "group_mean": (
                ("group_id", "time"),
                np.stack([_mean_rows(pooled, labels == k, len(time)) for k in range(st.n_groups)]),
                {"long_name": "mean z-scored state per group"},
            ),
            "pattern": (
                "time",
                pattern,
                {"long_name": "glacier-runoff-like cell-state pattern", "units": "1"},
            ),
            "temperature": ("time", temp, {"long_name": "max(region Tmean, floor)", "units": "K"}),
            "temperature_residual": ("time", t_res, {"units": "K"}),
            "pattern_residual": ("time", s_res, {"units": "1"}),
            "lag_correlation": (
                "lag",
                lag_r,
                {"long_name": "corr(T residual, state residual lagged by lag days)"},
            ),
            "rolling_correlation": (
                "window_start",
                roll,
                {"long_name": f"{st.rolling_window}-day rolling correlation"},
            ),
            "melt_season": ("window_start", melt),
        },
        coords={
            "member": np.arange(len(members)),
            "unit": np.arange(signed.shape[1]),
            "time": time,
            "lag": np.arange(st.max_lag + 1),
            "window_start": starts,
            "group_id": np.arange(st.n_groups),
        },
    )
    sizes = [int((labels == k).sum()) for k in range(st.n_groups)]
    june = time.month == 6
    ok = june & np.isfinite(pattern)
    rise = float(np.polyfit(np.arange(ok.sum()), pattern[ok], 1)[0]) if ok.sum() > 1 else np.nan
    ds.attrs.update(
        experiment="cell_states",
        n_selected_units=int(selected.sum()),
        group_sizes=sizes,
        glacier_group=int(glacial),
        june_slope=rise,
        best_lag=best,
        best_lag_correlation=float(lag_r[best]),
        melt_season_mean_correlation=_finite_mean(roll[melt]),
        other_mean_correlation=_finite_mean(roll[~melt]),
        window_first_day=str(time[0].date()),
        window_last_day=str(time[-1].date()),
        **st.to_attrs(),
    )
    return ds
