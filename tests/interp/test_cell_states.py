"""Experiment 4 on the published Central-cluster fine models and the 2011 mini inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hydrointerp.experiments.cell_states import (
    CellStates,
    cell_state_experiment,
    lagged_correlation,
    region_mean_temperature,
)
from hydrointerp.experiments.curves import residual
from hydrointerp.experiments.warming import cluster_region


@pytest.fixture(scope="module")
def central(shared_data: Path, mini, mini_clusters, mini_in_near, mini_frames):
    from hydrointerp.models.keras_import import load_keras_model

    models = shared_data / "cnn_lstm_era" / "models"
    members = [load_keras_model(models / f"model_fine_{i}_cluster_0.h5") for i in range(10)]
    glacier = mini["glacier_fraction"].where(mini_clusters == 0, drop=True)
    region = cluster_region(mini_in_near, mini_clusters).sel(cluster=0)
    temperature = region_mean_temperature(mini_frames, region)
    return members, mini_frames.isel(time=slice(-365, None)), glacier, temperature


def test_published_findings_reproduced(central) -> None:
    members, window, glacier, temperature = central
    ds = cell_state_experiment(
        members, window, glacier, temperature, CellStates(published_shift=True)
    )
    # "on the order of a hundred units" over the 10 models; we select 106.
    assert 80 <= ds.attrs["n_selected_units"] <= 130
    assert int(ds["selected"].sum()) == ds.attrs["n_selected_units"]
    sizes = ds.attrs["group_sizes"]
    assert len(sizes) == 2 and min(sizes) / max(sizes) > 0.6  # roughly equal groups
    # the glacier-like group rises through June and is highest in Jul-Sep
    assert ds.attrs["june_slope"] > 0
    summer = ds["time"].dt.month.isin([7, 8, 9])
    g = ds.attrs["glacier_group"]
    assert float(ds["group_mean"].sel(group_id=g)[summer].mean()) > float(
        ds["group_mean"].sel(group_id=1 - g)[summer].mean()
    )
    # lagged correlation peaks at about two days with the published temperature shift
    assert ds.attrs["best_lag"] == 2
    assert ds.attrs["melt_season_mean_correlation"] > ds.attrs["other_mean_correlation"] + 0.2
    # selected units really have significant weight correlations, signs aligned
    sel = ds["selected"].values
    assert np.all(ds["weight_glacier_p"].values[sel] < 0.05)
    assert np.isnan(ds["cell_state"].values[~sel]).all()


def test_aligned_temperature_moves_best_lag_by_one_day(central) -> None:
    members, window, glacier, temperature = central
    shifted = cell_state_experiment(
        members[:3], window, glacier, temperature, CellStates(published_shift=True)
    )
    aligned = cell_state_experiment(members[:3], window, glacier, temperature)
    assert aligned.attrs["best_lag"] == shifted.attrs["best_lag"] - 1
    np.testing.assert_allclose(
        aligned["lag_correlation"].values[:-1], shifted["lag_correlation"].values[1:], atol=0.02
    )


def test_lagged_correlation_finds_known_lag() -> None:
    rng = np.random.default_rng(0)
    lead = rng.normal(size=400)
    lag = np.roll(lead, 3) + 0.1 * rng.normal(size=400)
    r = lagged_correlation(lead, lag, 6)
    assert int(np.argmax(r)) == 3 and r[3] > 0.95


def test_residual_removes_centred_mean() -> None:
    x = np.arange(100.0)
    res = residual(x, 31)
    np.testing.assert_allclose(res[20:80], 0.0, atol=1e-12)  # a line equals its centred mean


def test_no_selected_unit_warns_instead_of_failing(central) -> None:
    _, window, glacier, temperature = central
    from hydrointerp.models.cnn_lstm import CNNLSTM

    torch.manual_seed(0)
    tiny = CNNLSTM(
        n_out=glacier.sizes["station"],
        conv_filters=(4,),
        conv_kernels=(1,),
        pool_after=0,
        lstm_units=6,
    )
    flat = glacier * 0.0  # no glacier anywhere: no weight can correlate with it
    with pytest.warns(UserWarning, match="no cell-state unit selected"):
        ds = cell_state_experiment([tiny], window, flat, temperature)
    assert ds.attrs["n_selected_units"] == 0
    assert np.isnan(ds["pattern"]).all() and (ds["group"] == -1).all()
