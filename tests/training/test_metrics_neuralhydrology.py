"""The metric suite against neuralhydrology 1.13's own functions on real WSC flows (m3/s)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hydrointerp.io import read_wsc_csv
from hydrointerp.training.metrics import metrics_table, suite

nh = pytest.importorskip("neuralhydrology.evaluation.metrics")

#: our name -> neuralhydrology's function (defaults untouched)
NH = {
    "nse": nh.nse,
    "mse": nh.mse,
    "rmse": nh.rmse,
    "kge": nh.kge,
    "alpha_nse": nh.alpha_nse,
    "beta_nse": nh.beta_nse,
    "beta_kge": nh.beta_kge,
    "r": nh.pearsonr,
    "fhv": nh.fdc_fhv,
    "flv": nh.fdc_flv,
    "fms": nh.fdc_fms,
    "peak_timing": nh.mean_peak_timing,
    "missed_peaks": nh.missed_peaks,
    "peak_mape": nh.mean_absolute_percentage_peak_error,
}


@pytest.fixture(scope="module")
def flows(shared_data) -> tuple[xr.DataArray, xr.DataArray]:
    """Observed flows 1995-2015 of the 7 stations and a deterministic two-member simulation."""
    path = shared_data / "wsc_daily_flow" / "wsc_daily_flow_7stations_1979_2015.csv"
    obs = read_wsc_csv(path, start="1995-01-01", end="2015-12-31", progress=False)["flow"]
    obs = obs.astype(np.float64).drop_vars([c for c in obs.coords if c not in obs.dims])
    obs.attrs["units"] = "m3 s-1"
    rng = np.random.default_rng(18)
    members = []
    for lag, scale in ((2, 0.85), (-1, 1.1)):
        shifted = obs.shift(time=lag)
        noise = rng.normal(0.0, 0.15, obs.shape) * obs.std("time").values
        members.append(scale * shifted + noise)
    sim = xr.concat(members, dim="member").transpose("member", "time", "station")
    # gaps in the simulation too, and a few negative days (FDC floors them)
    sim[0, 100:130, 0] = np.nan
    sim[1, ::97, 1] = np.nan
    return obs, sim


def _reference(name: str, o: xr.DataArray, s: xr.DataArray) -> float:
    if name in ("peak_timing", "missed_peaks"):
        return float(NH[name](o, s, datetime_coord="time"))
    return float(NH[name](o, s))


def test_every_metric_matches_neuralhydrology(flows) -> None:
    obs, sim = flows
    assert int(obs.isnull().sum()) > 0  # the real record has gaps
    assert float((sim < 0).sum()) > 0
    table = metrics_table(obs, sim)
    mean = sim.mean("member")
    worst = {}
    for name in NH:
        ours = table[name].values
        members = table[f"{name}_member"].values
        for j, st in enumerate(obs["station"].values):
            o = obs.sel(station=st)
            ref = _reference(name, o, mean.sel(station=st))
            refs_m = [_reference(name, o, sim.isel(member=m).sel(station=st)) for m in (0, 1)]
            for got, want in [(ours[j], ref), *zip(members[:, j], refs_m, strict=True)]:
                if np.isnan(want):
                    assert np.isnan(got), (name, st)
                    continue
                rel = abs(got - want) / max(abs(want), 1e-12)
                worst[name] = max(worst.get(name, 0.0), rel)
                assert rel <= 1e-6, (name, st, got, want)
    print({k: f"{v:.1e}" for k, v in worst.items()})
    # every metric was compared on finite numbers at least once
    assert set(worst) == set(NH)
    assert table["kge"].attrs["units"] == "1" and table["rmse"].attrs["units"] == "m3 s-1"
    assert table["fhv"].attrs["units"] == "%" and table["peak_timing"].attrs["units"] == "d"


def test_suite_keeps_labels_and_extra_dims(flows) -> None:
    obs, sim = flows
    out = suite(obs, sim)
    assert out["fhv"].dims == ("member", "station")
    assert list(out["station"].values) == list(obs["station"].values)
    # a perfect simulation scores perfectly on every metric that has a perfect value
    perfect = suite(obs, obs)
    for name, best in (("nse", 1), ("kge", 1), ("rmse", 0), ("fhv", 0), ("fms", 0), ("flv", 0)):
        np.testing.assert_allclose(perfect[name].values, best, atol=1e-9, err_msg=name)
    # (peak timing of a perfect simulation is not 0 where a peak is a plateau: nh's rule)
    np.testing.assert_array_equal(perfect["missed_peaks"].values, 0.0)
