"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hydrointerp.training.metrics import bias, kge, metrics_table, nse, pearson_r, write_metrics


def _da(values, name="flow"):
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    return xr.DataArray(
        v,
        dims=("time", "station"),
        coords={
            "time": np.arange(v.shape[0]),
            "station": ["a"][: v.shape[1]] if v.shape[1] == 1 else ["a", "b"],
        },
        name=name,
    )


def _f(da: xr.DataArray) -> float:
    return float(da.values.item())


def test_nse_hand_computed():
    obs = _da([1.0, 2.0, 3.0, 4.0])
    pred = _da([1.0, 2.0, 3.0, 5.0])
    # sum sq err = 1; sum sq dev = 1.5^2 + 0.5^2 + 0.5^2 + 1.5^2 = 5
    assert _f(nse(obs, pred)) == pytest.approx(1 - 1 / 5)
    assert _f(nse(obs, obs)) == 1.0
    assert _f(nse(obs, obs * 0 + 2.5)) == pytest.approx(0.0)


def test_nse_ignores_missing_days():
    obs = _da([1.0, np.nan, 3.0, 4.0, 2.0])
    pred = _da([1.0, 100.0, 3.0, 5.0, np.nan])
    # pairs (1,1), (3,3), (4,5): mean obs 8/3
    o = np.array([1.0, 3.0, 4.0])
    expected = 1 - 1 / ((o - o.mean()) ** 2).sum()
    assert _f(nse(obs, pred)) == pytest.approx(expected)


def test_kge_components_hand_computed():
    obs = _da([1.0, 2.0, 3.0, 4.0])
    pred = _da([2.0, 4.0, 6.0, 8.0])  # r = 1, alpha = 2, beta = 2
    ds = kge(obs, pred)
    assert _f(ds["kge_r"]) == pytest.approx(1.0)
    assert _f(ds["kge_alpha"]) == pytest.approx(2.0)
    assert _f(ds["kge_beta"]) == pytest.approx(2.0)
    assert _f(ds["kge"]) == pytest.approx(1 - np.sqrt(2.0))
    assert _f(bias(obs, pred)) == pytest.approx(2.5)
    assert _f(pearson_r(obs, _da([4.0, 3.0, 2.0, 1.0]))) == pytest.approx(-1.0)


def test_ensemble_table_scores_the_mean(tmp_path):
    obs = _da(np.array([[1.0, 10.0], [2.0, 12.0], [3.0, 9.0], [4.0, 11.0]]))
    m0 = obs + np.array([[0.5, 1.0]])
    m1 = obs - np.array([[0.5, 1.0]])
    pred = xr.concat([m0, m1], dim="member")
    table = metrics_table(obs, pred)
    np.testing.assert_allclose(table["nse"].values, [1.0, 1.0])
    # member 0 is off by +0.5 at a (sum sq dev 5) and +1 at b (sum sq dev 5)
    np.testing.assert_allclose(table["nse_member"].values, [[1 - 4 * 0.25 / 5, 1 - 4 / 5]] * 2)
    csv, nc = write_metrics(table, tmp_path / "metrics")
    text = csv.read_text().splitlines()
    assert text[0].startswith("station_id,nse,kge") and len(text) == 3
    assert xr.load_dataset(nc)["nse_member"].shape == (2, 2)


def test_physical_skill_denormalises_or_leaves_out_unit_bound_metrics():
    from hydrointerp.data.windows import Normaliser
    from hydrointerp.training.metrics import PHYSICAL, physical_skill

    rng = np.random.default_rng(1)
    flow = xr.DataArray(
        rng.gamma(2.0, 30.0, (200, 2)),
        dims=("time", "station"),
        coords={"time": np.arange(200), "station": ["a", "b"]},
        attrs={"units": "m3 s-1"},
    )
    sim = xr.concat([flow * 1.1 + 2.0, flow.shift(time=1).fillna(40.0)], dim="member")
    stats = {
        "flow_mean": xr.DataArray([50.0, 70.0], dims="station", coords={"station": ["a", "b"]}),
        "flow_std": xr.DataArray([20.0, 35.0], dims="station", coords={"station": ["a", "b"]}),
    }
    channels = xr.DataArray([0.0], dims="channel", coords={"channel": ["precip"]})
    norm = Normaliser(channels, channels + 1, stats["flow_mean"], stats["flow_std"])
    scores = physical_skill(norm.transform_flow(flow), norm.transform_flow(sim), norm)
    direct = metrics_table(flow, sim)
    for name in ("kge", "beta_kge", "bias", "fhv", "rmse", "nse"):
        np.testing.assert_allclose(scores[name].values, direct[name].values, rtol=1e-4)
    assert scores["bias"].attrs["units"] == "m3 s-1"
    # without a normaliser only the scale-invariant metrics remain
    plain = physical_skill(norm.transform_flow(flow), norm.transform_flow(sim), None)
    assert not set(PHYSICAL) & set(plain.data_vars)
    np.testing.assert_allclose(plain["nse"].values, direct["nse"].values, rtol=1e-4)
