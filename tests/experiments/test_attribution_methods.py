"""The attribution registry: layout, known answers on a linear predictor, IG completeness,
occlusion = replacement change, the cuDNN guard and the lag profile."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from hydrointerp.errors import ConfigError, DataError
from hydrointerp.experiments import attribution
from hydrointerp.experiments.attribution_methods import (
    METHOD_NAMES,
    METHOD_SUFFIXES,
    METHODS,
    AttributionSettings,
    result_name,
)
from hydrointerp.experiments.completeness import ig_completeness
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.method_maps import attribute, window_attribution
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.record_attribution import basin_partition, climatology_record
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.linear_window import LinearWindow

LOOKBACK, H, W, C = 5, 3, 4, 3
GROUPS = [(0, 1), (2,)]
QUICK = AttributionSettings(n_steps=8, n_samples=4, n_baselines=4, n_masks=20)
QUICK_HEAT = Perturbation(iters_one_pass=10, iters_total=20)


def _inputs(predictor, n_days: int, shape=(H, W, C), lookback=LOOKBACK, seed=0) -> ExperimentInputs:  # noqa: ANN001
    """Inputs over ``n_days`` random normalised days (from 2000-01-01), 3 target days."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    time = pd.date_range("2000-01-01", periods=n_days)
    seasonal = np.sin(2 * np.pi * time.day_of_year.to_numpy() / 365.25)[:, None, None, None]
    frames = xr.DataArray(
        (rng.normal(size=(n_days, h, w, c)) + 2 * seasonal).astype(np.float32),
        dims=("time", "lat", "lon", "channel"),
        coords={
            "time": time,
            "lat": 50.0 + np.arange(h),
            "lon": -120.0 + np.arange(w),
            "channel": ["tmax", "tmin", "precip"][:c],
        },
    )
    n_st = len(predictor.station_ids) if hasattr(predictor, "station_ids") else 3
    ids = [f"s{i}" for i in range(n_st)]
    basin = np.zeros((n_st, h, w), dtype=bool)
    basin[:, : h - 1, : w - 1] = True  # the large basin holds the small ones
    for k in range(1, n_st):
        basin[k] = False
        basin[k, k - 1, k - 1 : k + 1] = True
    stations = xr.Dataset(
        {
            "cluster": ("station", np.zeros(n_st, dtype=int)),
            "basin_mask": (("station", "lat", "lon"), basin.astype(float)),
            "in_near": (("station", "lat", "lon"), basin),
        },
        coords={"station": ids, "lat": frames["lat"], "lon": frames["lon"]},
    )
    const = xr.DataArray(np.zeros(c), dims="channel", coords={"channel": frames["channel"].values})
    flow = xr.DataArray(
        np.zeros((n_days, n_st)), dims=("time", "station"), coords={"time": time, "station": ids}
    )
    targets = time[[n_days - 40, n_days - 20, n_days - 1]]
    predictor.lookback = lookback
    return ExperimentInputs(predictor, frames, targets, stations, const, const, flow)


@pytest.fixture(scope="module")
def linear() -> tuple[ExperimentInputs, np.ndarray]:
    """A linear predictor of 3 stations over 2 years of days (so a climatology exists)."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, LOOKBACK, H, W, C)).astype(np.float32)
    model = LinearWindow(w, bias=[0.5, -1.0, 2.0], station_ids=["s0", "s1", "s2"])
    return _inputs(model, 2 * 366), w


@pytest.fixture(scope="module")
def tiny() -> ExperimentInputs:
    """A random tiny CNN-LSTM (3 stations, 4 x 6 grid, 12-day window)."""
    torch.manual_seed(0)
    arch = Architecture(
        n_out=3, conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0, lstm_units=6
    )
    return _inputs(CNNLSTM(arch).eval(), 2 * 366, shape=(4, 6, 3), lookback=12, seed=2)


def _windows(inputs: ExperimentInputs) -> torch.Tensor:
    """``[T_target, lookback, H, W, C]`` windows of the target days."""
    frames = torch.as_tensor(inputs.frames_array())
    return torch.stack([frames[t - inputs.lookback : t] for t in inputs.target_indices()])


def _per_group(a: np.ndarray) -> np.ndarray:
    """``a[S, T, L, H, W, C]`` summed over lags and each group's channels -> ``[S, T, H, W, G]``."""
    return np.stack([a[..., list(g)].sum(-1).sum(2) for g in GROUPS], axis=-1)


def _maps(inputs, method, settings=QUICK, **kw) -> xr.DataArray:  # noqa: ANN001
    return attribute(inputs, method, settings, GROUPS, progress=False, **kw)["attribution"]


# ----------------------------------------------------------------------------- layout
def test_registry_names_suffixes_and_settings_errors() -> None:
    assert METHOD_NAMES[0] == "perturbation" and METHOD_SUFFIXES["perturbation"] == ""
    assert METHOD_SUFFIXES["integrated_gradients"] == "_integrated_gradients"  # existing files
    assert result_name("heat_map", "gradient_shap") == "heat_map_gradient_shap"
    assert len(METHODS) == 10
    with pytest.raises(ConfigError, match="method must be one of"):
        result_name("heat_map", "lrp")
    with pytest.raises(ConfigError, match="unknown attribution setting 'nsteps'"):
        AttributionSettings.from_options({"nsteps": 3})
    with pytest.raises(ConfigError, match="keep_prob"):
        AttributionSettings(keep_prob=1.0)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_has_the_documented_layout(tiny, method) -> None:  # noqa: ANN001
    ds = attribute(tiny, method, QUICK, GROUPS, heat=QUICK_HEAT, progress=False)
    da = ds["attribution"]
    assert da.dims == ("station", "time", "lat", "lon", "channel")
    assert da.shape == (3, 3, 4, 6, 2)
    assert da["channel"].values.tolist() == ["tmax+tmin", "precip"]
    assert (da["time"].values == tiny.target_times.values).all()
    assert np.isfinite(da.values).all() and float(np.abs(da).sum()) > 0
    assert (da >= 0).all()  # magnitudes unless signed
    spec = METHODS[method]
    assert da.attrs["method"] == method and da.attrs["scaling"] == spec.scaling
    assert da.attrs["family"] == spec.family and da.attrs["signed"] == 0
    for p in spec.params:
        assert p in da.attrs
    if spec.family == "gradient":
        lag = ds["attribution_by_lag"]
        assert lag.dims == ("station", "time", "lag", "channel") and lag.sizes["lag"] == 12
        # the two reductions of the same |attribution|: over the grid vs over the lags
        np.testing.assert_allclose(lag.sum("lag"), da.sum(("lat", "lon")), rtol=1e-4)
    else:
        assert "attribution_by_lag" not in ds


# ----------------------------------------------------------------------------- known answers
def test_gradient_methods_equal_the_linear_weights(linear) -> None:  # noqa: ANN001
    inputs, w = linear
    x = _windows(inputs).numpy()  # [T, L, H, W, C]
    clim = climatology_record(inputs)
    cw = np.stack([clim[t - LOOKBACK : t] for t in inputs.target_indices()])
    assert np.abs(x - cw).mean() > 0.5  # the climatology baseline differs from the inputs
    signed = replace(QUICK, signed=True)
    wx = w[:, None] * x[None]  # [S, T, L, H, W, C]
    expected = {
        "saliency": (np.abs(w)[:, None].repeat(3, 1), QUICK),
        "smoothgrad": (np.abs(w)[:, None].repeat(3, 1), QUICK),
        "input_x_gradient": (wx, signed),
        "integrated_gradients": (wx, signed),
        "integrated_gradients_climatology": (w[:, None] * (x - cw)[None], signed),
    }
    for method, (per_value, settings) in expected.items():
        got = _maps(inputs, method, settings).transpose("station", "time", "lat", "lon", "channel")
        np.testing.assert_allclose(
            got.values, _per_group(per_value), rtol=1e-4, atol=1e-4, err_msg=method
        )
    ixg = _maps(inputs, "input_x_gradient")  # unsigned: sum of |w x|
    np.testing.assert_allclose(ixg.values, _per_group(np.abs(wx)), rtol=1e-4, atol=1e-4)


def test_window_attribution_per_value_and_gradient_shap_expectation(linear) -> None:  # noqa: ANN001
    inputs, w = linear
    model = inputs.predictor
    x = _windows(inputs)[:1].expand(3, -1, -1, -1, -1)
    ig = window_attribution("integrated_gradients", model, x, [0, 1, 2], QUICK)
    np.testing.assert_allclose(ig.numpy(), w * x.numpy(), rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(3)
    dist = torch.as_tensor(rng.normal(size=(4, LOOKBACK, H, W, C)).astype(np.float32))
    torch.manual_seed(0)
    n = 4000
    gs = window_attribution("gradient_shap", model, x, [0, 1, 2], replace(QUICK, n_samples=n), dist)
    want = w * (x.numpy() - dist.numpy().mean(0))
    # each draw gives w (x - b_k); the mean of n draws of k has sd sd_k(b) / sqrt(n)
    tol = 4 * np.abs(w) * dist.numpy().std(0) / np.sqrt(n)
    assert (np.abs(gs.numpy() - want) <= tol + 1e-5).all()


def test_ablation_methods_equal_the_linear_weights(linear) -> None:  # noqa: ANN001
    inputs, w = linear
    x = _windows(inputs).numpy()
    cell = _per_group(w[:, None] * x[None])  # [S, T, H, W, G]: w (x - 0) per cell and group
    signed = replace(QUICK, signed=True)
    occ = _maps(inputs, "occlusion", signed).values
    np.testing.assert_allclose(occ, cell, rtol=1e-4, atol=1e-4)
    basins = basin_partition(inputs.stations)
    assert sorted(np.unique(basins).tolist()) == [0, 1, 2, 3]
    ab = _maps(inputs, "basin_ablation", signed).values
    for label in np.unique(basins):
        inside = basins == label
        total = cell[:, :, inside].sum(2)  # the basin's cells ablated together
        np.testing.assert_allclose(
            ab[:, :, inside], np.repeat(total[:, :, None], inside.sum(), 2), rtol=1e-4, atol=1e-4
        )
    # the climatology baseline: w (x - climatology)
    clim = climatology_record(inputs)
    cw = np.stack([clim[t - LOOKBACK : t] for t in inputs.target_indices()])
    occ_c = _maps(inputs, "occlusion", replace(signed, ablation_baseline="climatology")).values
    np.testing.assert_allclose(occ_c, _per_group(w[:, None] * (x - cw)[None]), rtol=1e-4, atol=1e-4)


def test_rise_is_one_minus_keep_prob_times_occlusion_on_a_linear_model(linear) -> None:  # noqa: ANN001
    inputs, w = linear
    x = _windows(inputs).numpy()
    a = _per_group(w[:, None] * x[None])  # [S, T, H, W, G]
    n, p = 3000, 0.5
    s = replace(QUICK, signed=True, n_masks=n, keep_prob=p, mask_chunk=500)
    got = _maps(inputs, "rise", s).values
    # Monte Carlo error of the covariance estimate: sd(y) sqrt(p (1 - p)) / (p sqrt(n))
    sd_y = np.sqrt((a**2).sum((2, 3, 4)) * p * (1 - p))[:, :, None, None, None]
    tol = 4 * sd_y * np.sqrt(p * (1 - p)) / (p * np.sqrt(n))
    assert (np.abs(got - (1 - p) * a) <= tol).all()
    assert np.corrcoef(got.ravel(), a.ravel())[0, 1] > 0.95


def test_perturbation_adapter_with_single_cell_bumps(linear) -> None:  # noqa: ANN001
    """Single-cell bumps of amplitude 1: map(c) = (share of masks at c) * |sum w| of the cell."""
    inputs, w = linear
    heat = Perturbation(iters_one_pass=50, iters_total=100, tol=0.0, truncate=0.5)
    got = attribute(inputs, "perturbation", groups=[(0, 1, 2)], heat=heat, progress=False)
    m = got["attribution"].isel(channel=0).values  # [S, T, H, W]
    cell = np.abs(w.sum((1, 4)))[:, None]  # [S, 1, H, W]
    counts = m / cell * 100  # masks centred on each cell, the same for all stations and days
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)
    np.testing.assert_allclose(counts.sum((2, 3)), 100, atol=1e-3)
    assert np.ptp(counts, axis=(0, 1)).max() < 1e-3


# ----------------------------------------------------------------------------- tiny CNN-LSTM
def test_integrated_gradients_are_complete_on_a_cnn_lstm(tiny) -> None:  # noqa: ANN001
    s = replace(QUICK, n_steps=128, signed=True, batch=384)
    model = tiny.predictor
    x = _windows(tiny)
    clim = climatology_record(tiny)
    base = torch.stack([torch.as_tensor(clim[t - 12 : t]) for t in tiny.target_indices()])
    for method, b in (
        ("integrated_gradients", torch.zeros_like(x)),
        ("integrated_gradients_climatology", base),
    ):
        maps = attribute(tiny, method, s, [(0, 1, 2)], progress=False)["attribution"]
        total = maps.sum(("lat", "lon", "channel")).values  # [S, T]
        with torch.no_grad():
            dy = (model(x) - model(b)).T.numpy()
        assert np.median(np.abs(dy)) > 1e-2  # a sizeable change to explain
        # sum of attributions = f(x) - f(baseline): within 5 % per station and day (tiny
        # changes: within 1e-3), and within 2 % over all of them
        np.testing.assert_allclose(total, dy, rtol=0.05, atol=1e-3, err_msg=method)
        assert np.abs(total - dy).sum() / np.abs(dy).sum() < 0.02


def test_occlusion_is_the_change_when_the_cell_takes_the_baseline(tiny) -> None:  # noqa: ANN001
    model = tiny.predictor
    x = _windows(tiny)
    occ = attribute(tiny, "occlusion", replace(QUICK, signed=True), GROUPS, progress=False)
    for r, c, g in ((0, 0, 0), (2, 3, 1), (3, 5, 0)):
        xo = x.clone()
        xo[:, :, r, c, list(GROUPS[g])] = 0.0  # the zero baseline on every look-back day
        with torch.no_grad():
            dy = (model(x) - model(xo)).T.numpy()
        np.testing.assert_allclose(
            occ["attribution"].values[:, :, r, c, g], dy, rtol=1e-4, atol=1e-6
        )


def test_gradient_methods_on_an_ensemble_average_the_members(tiny) -> None:  # noqa: ANN001
    from hydrointerp.models.ensemble import Ensemble

    other = CNNLSTM(tiny.predictor.arch).eval()
    other.lookback = tiny.lookback
    ens = Ensemble([tiny.predictor, other], tiny.stations["station"].values.tolist(), 12)
    both = _maps(replace(tiny, predictor=ens), "input_x_gradient")
    one = _maps(tiny, "input_x_gradient")
    two = _maps(replace(tiny, predictor=other), "input_x_gradient")
    np.testing.assert_allclose(both.values, (one.values + two.values) / 2, rtol=1e-4, atol=1e-6)
    assert both.attrs["members_averaged"] == 2


# ----------------------------------------------------------------------------- pitfalls
def test_cudnn_guard_disables_cudnn_only_on_cuda() -> None:
    before = torch.backends.cudnn.enabled
    with attribution.gradient_guard("cuda:0"):
        assert torch.backends.cudnn.enabled is False and torch.is_grad_enabled()
    assert torch.backends.cudnn.enabled == before
    with torch.no_grad(), attribution.gradient_guard("cpu"):
        assert torch.backends.cudnn.enabled == before and torch.is_grad_enabled()


def test_every_gradient_method_runs_under_the_guard_of_the_model_device(tiny, monkeypatch) -> None:  # noqa: ANN001
    from hydrointerp.experiments import attribution_methods, method_maps

    seen = []
    real = attribution.gradient_guard

    def spy(device):  # noqa: ANN001, ANN202
        seen.append(str(device))
        return real(device)

    monkeypatch.setattr(method_maps, "gradient_guard", spy)
    x = _windows(tiny)[:1]
    for method in attribution_methods.GRADIENT_METHODS:
        base = x if method == "gradient_shap" else None
        window_attribution(method, tiny.predictor, x, [0], QUICK, base)
    assert seen == ["cpu"] * len(attribution_methods.GRADIENT_METHODS)


def test_lag_profile_puts_the_mass_on_the_weighted_days(linear, tmp_path) -> None:  # noqa: ANN001
    from hydrointerp.plots.attribution import lag_shares, plot_attribution_by_lag

    inputs, w = linear
    w_last = np.zeros_like(w)
    w_last[:, -1] = w[:, -1]  # only the last input day (lag 1) matters
    w_last[:, 0, ..., 2] = w[:, 0, ..., 2]  # and precipitation of the oldest day (lag 5)
    inp = replace(inputs, predictor=LinearWindow(w_last, station_ids=["s0", "s1", "s2"]))
    lag = attribute(inp, "saliency", QUICK, GROUPS, progress=False)["attribution_by_lag"]
    shares = lag_shares(lag)
    assert lag["lag"].values.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(shares.sel(channel="tmax+tmin"), [1, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(shares.sel(channel="precip").sel(lag=[2, 3, 4]), 0, atol=1e-6)
    np.testing.assert_allclose(
        lag.sel(channel="precip", lag=5).values,
        np.abs(w[:, 0, ..., 2]).sum((1, 2))[:, None].repeat(3, 1),
        rtol=1e-5,
    )
    path = plot_attribution_by_lag(lag, tmp_path / "lag.png")
    assert path.stat().st_size > 1000


def test_simulator_refuses_gradient_methods_and_basins_are_required(linear) -> None:  # noqa: ANN001
    inputs, _ = linear

    class NoGradients:  # a Predictor without networks, like the simulator
        station_ids = ("s0", "s1", "s2")
        lookback = LOOKBACK

        def predict_block(self, frames, targets):  # noqa: ANN001, ANN202
            return inputs.predictor.predict_block(frames, targets)

        def network_groups(self):  # noqa: ANN202
            return ()

        def first_members(self, n):  # noqa: ANN001, ANN202
            return self

    with pytest.raises(ConfigError, match="gradient attributions need"):
        _maps(replace(inputs, predictor=NoGradients()), "saliency")
    occ = _maps(replace(inputs, predictor=NoGradients()), "occlusion")  # a Predictor suffices
    np.testing.assert_allclose(occ, _maps(inputs, "occlusion"), rtol=1e-6)
    with pytest.raises(DataError, match="basin ablation needs"):
        _maps(replace(inputs, stations=inputs.stations.drop_vars("basin_mask")), "basin_ablation")


def test_completeness_gap_is_zero_on_a_linear_predictor(linear) -> None:  # noqa: ANN001
    """IG is exact on a linear function at any step count; the change is f(x) - f(0)."""
    inputs, w = linear
    gap = ig_completeness(inputs, n_steps=2)
    x = _windows(inputs).numpy()
    want = np.einsum("tlhwc,slhwc->st", x, w)  # the bias cancels in f(x) - f(0)
    np.testing.assert_allclose(gap["change"].values, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gap["attribution_sum"].values, want, rtol=1e-4, atol=1e-4)
    assert gap.attrs["summed_relative_error"] < 1e-4 and gap.attrs["n_steps"] == 2


def test_completeness_gap_shrinks_with_steps_on_a_cnn_lstm(tiny) -> None:  # noqa: ANN001
    """On the tiny CNN-LSTM the gap at 1 step is large and falls below 2 % at 128 steps; the
    change is the network's own f(x) - f(0)."""
    coarse = ig_completeness(tiny, n_steps=1, settings=replace(QUICK, batch=384))
    fine = ig_completeness(tiny, n_steps=128, settings=replace(QUICK, batch=384))
    x = _windows(tiny)
    with torch.no_grad():
        dy = (tiny.predictor(x) - tiny.predictor(torch.zeros_like(x))).T.numpy()
    np.testing.assert_allclose(fine["change"].values, dy, rtol=1e-5, atol=1e-6)
    assert fine.attrs["summed_relative_error"] < 0.02
    assert coarse.attrs["summed_relative_error"] > 5 * fine.attrs["summed_relative_error"]
    assert fine.attrs["median_relative_error"] < coarse.attrs["median_relative_error"]
