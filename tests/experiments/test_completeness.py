"""A heat map made with integrated gradients checks that its maps add up to the change they
explain, and its fidelity rows say ``not_converged`` when they do not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import xarray as xr

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.attribution_methods import COMPLETENESS_TOL
from hydrointerp.experiments.catalog import ChannelImportance, DailyMaps, HeatMap
from hydrointerp.experiments.completeness import CHECK_DAYS, ig_completeness
from hydrointerp.experiments.method_maps import with_targets
from hydrointerp.fidelity.bundle import is_converged
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.ensemble import Ensemble


@pytest.fixture(scope="module")
def inputs(sim_inputs):  # noqa: ANN001, ANN201
    """The virtual region's inputs with an ensemble of 2 small random CNN-LSTMs, 6 days."""
    torch.manual_seed(4)
    ids = [str(x) for x in sim_inputs.stations["station"].values]
    arch = Architecture(
        n_out=len(ids), conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0, lstm_units=6
    )
    ens = Ensemble.routed({0: ([CNNLSTM(arch).eval() for _ in range(2)], ids)}, ids, 60)
    return replace(sim_inputs, predictor=ens).first_targets(6)


@pytest.mark.parametrize("method", ["integrated_gradients", "integrated_gradients_climatology"])
def test_heat_map_records_its_completeness(inputs, method) -> None:  # noqa: ANN001
    """One step leaves a large gap (not converged); 64 steps close it (converged). The
    recorded gap is the summed gap of the check days, recomputed here independently."""
    coarse = HeatMap(method=method, n_steps=1)(inputs)
    fine = HeatMap(method=method, n_steps=64)(inputs)
    assert coarse.attrs["completeness_days"] == CHECK_DAYS
    assert coarse.attrs["completeness_gap"] > COMPLETENESS_TOL
    assert fine.attrs["completeness_gap"] < COMPLETENESS_TOL / 5
    assert not is_converged(coarse) and is_converged(fine)
    days = inputs.target_indices()[[0, 2, 5]]  # 3 days spread over the 6 targets
    again = ig_completeness(with_targets(inputs, days), 1, method=method)
    np.testing.assert_allclose(
        coarse.attrs["completeness_gap"], again.attrs["summed_relative_error"], rtol=1e-6
    )


@pytest.mark.parametrize(
    "exp",
    [
        DailyMaps(method="integrated_gradients", n_steps=1, gifs=False),
        ChannelImportance(method="integrated_gradients", n_steps=1),
    ],
    ids=["daily", "channels"],
)
def test_every_map_experiment_checks_itself(inputs, exp) -> None:  # noqa: ANN001
    """Experiments 1 and 2 with IG record the same check (one rule for the map experiments)."""
    result = exp(inputs)
    assert result.attrs["completeness_gap"] > COMPLETENESS_TOL and not is_converged(result)


def test_other_methods_carry_no_check_and_are_refused(inputs) -> None:  # noqa: ANN001
    saliency = HeatMap(method="saliency")(inputs)
    assert "completeness_gap" not in saliency.attrs and is_converged(saliency)
    with pytest.raises(ConfigError, match="completeness is defined for"):
        ig_completeness(inputs, 8, method="saliency")


def test_the_flag_rule() -> None:
    assert not is_converged(xr.Dataset(attrs={"completeness_gap": COMPLETENESS_TOL * 1.01}))
    assert is_converged(xr.Dataset(attrs={"completeness_gap": COMPLETENESS_TOL * 0.99}))
