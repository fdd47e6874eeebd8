"""Experiments on the published fine-tuned models and the real 2011 mini year."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hydrointerp.experiments.catalog import HeatMap, Perturbation
from hydrointerp.experiments.method_maps import attribute_window


@pytest.fixture(scope="module")
def mini_inputs(shared):  # noqa: ANN001, ANN201
    from hydrointerp.cli.resolve import resolve_inputs

    return resolve_inputs(None, shared, ensemble="fine", n_members=1)


def test_load_inputs_resolves_the_published_setup(mini_inputs) -> None:
    inp = mini_inputs
    assert str(inp.target_times[0].date()) == "2011-01-01" and len(inp.target_times) == 365
    assert inp.target_indices()[[0, -1]].tolist() == [365, 729]
    assert inp.frames.shape == (729, 12, 32, 3)
    assert np.bincount(inp.stations["cluster"].values).tolist() == [52, 62, 34, 12, 39, 27]
    assert inp.stations["in_near"].any(("lat", "lon")).all()
    np.testing.assert_allclose(inp.channel_std.sel(channel="tmax"), 10.5613118, rtol=1e-7)


def test_coastal_heat_map_is_hottest_in_and_near_the_basins(mini_inputs, coastal_model) -> None:
    coastal = mini_inputs.stations["cluster"].values == 3
    inp = replace(
        mini_inputs,
        predictor=coastal_model,
        stations=mini_inputs.stations.isel(station=coastal),
        target_times=mini_inputs.target_times[[130, 131]],  # 2011-05-11, 2011-05-12
    )
    ds = HeatMap(perturbation=Perturbation(iters_one_pass=20, iters_total=40, seed=0))(inp)
    assert ds["sensitivity"].shape == (12, 12, 32)
    assert ds.attrs["masks_per_day"] == 40  # tol 1.0: always exactly two passes
    d = float(ds["ks_d"].sel(cluster=3)) * float(ds["ks_sign"].sel(cluster=3))
    assert d > 0.3, d  # in/near pixels stochastically more sensitive than far pixels
    inside = ds["sensitivity"].where(ds["in_near"]).mean()
    outside = ds["sensitivity"].where(~ds["in_near"]).mean()
    assert float(inside) > float(outside) + 0.5
    assert ((ds["area_a"] > 0) & (ds["area_a"] < 0.5)).all()


def test_integrated_gradients_are_complete(coastal_model, mini_frames) -> None:
    window = torch.as_tensor(mini_frames[300:320])  # a short window keeps the test cheap
    attr = attribute_window(coastal_model, window, 2, "integrated_gradients", n_steps=50)
    assert attr.shape == window.shape
    with torch.no_grad():
        y = coastal_model(window[None])[0, 2] - coastal_model(torch.zeros_like(window)[None])[0, 2]
    assert float(attr.sum()) == pytest.approx(float(y), rel=0.03, abs=1e-3)
    sal = attribute_window(coastal_model, window, 2, "saliency")
    assert sal.shape == window.shape and float(sal.abs().sum()) > 0
