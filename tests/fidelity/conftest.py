"""Fixtures: a small virtual region, two independent simulator heat maps (the truth and a
faithful explainer), an untrained network's map and the exact contribution truth."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import xarray as xr

N_MASKS = 80


def heat_run(inputs, seed: int, n_masks: int = N_MASKS) -> xr.Dataset:  # noqa: ANN001
    """A converged-enough shared-mask heat map, its settings recorded like the pipeline's."""
    from hydrointerp.experiments.catalog import HeatMap, Perturbation

    exp = HeatMap(
        perturbation=Perturbation(iters_one_pass=40, iters_total=n_masks, tol=0.0, seed=seed)
    )
    ds = exp(inputs)
    ds.attrs["settings_json"] = json.dumps(exp.record())
    return ds


@pytest.fixture(scope="session")
def fid_region() -> xr.Dataset:
    """8 x 12 cells, 10 stations (basins of 1-3 cells), one year after a year of spin-up."""
    from hydrointerp.data.virtual import generate_region
    from hydrointerp.data.virtual_config import VirtualRegionConfig

    cfg = VirtualRegionConfig(n_years=1, spinup_years=1, n_lat=8, n_lon=12, n_stations=10, seed=4)
    return generate_region(cfg)


@pytest.fixture(scope="session")
def fid_inputs(fid_region):  # noqa: ANN001, ANN201
    """Simulator inputs: 60-day look-back, every 14th day of the year (27 days)."""
    import numpy as np

    from hydrointerp.experiments.inputs import simulator_inputs

    inputs = simulator_inputs(fid_region, lookback=60).every_nth_target(14)
    k = np.arange(inputs.stations.sizes["station"]) % 3  # three clusters of stations
    stations = inputs.stations.assign(
        cluster=("station", k), cluster_name=("station", np.array(["A", "B", "C"])[k])
    )
    return dataclasses.replace(inputs, stations=stations)


@pytest.fixture(scope="session")
def sim_a(fid_inputs) -> xr.Dataset:  # noqa: ANN001
    """The truth: the simulator's heat map with seed 1."""
    return heat_run(fid_inputs, 1)


@pytest.fixture(scope="session")
def sim_b(fid_inputs) -> xr.Dataset:  # noqa: ANN001
    """A faithful explainer: the simulator's heat map with independent masks (seed 2)."""
    return heat_run(fid_inputs, 2)


@pytest.fixture(scope="session")
def sim_c(fid_inputs) -> xr.Dataset:  # noqa: ANN001
    """A second independent truth (seed 3): the noise ceiling."""
    return heat_run(fid_inputs, 3)


def untrained_network(n_out: int, seed: int):  # noqa: ANN201
    """A small untrained CNN-LSTM (seeded)."""
    from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture

    arch = Architecture(n_out=n_out, conv_filters=(4, 4, 4, 4, 4), lstm_units=8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CNNLSTM(arch).eval()


@pytest.fixture(scope="session")
def untrained_a(fid_inputs, fid_region) -> xr.Dataset:  # noqa: ANN001
    """An untrained network's heat map on the first 6 target days, same masks as ``sim_b``."""
    net = untrained_network(fid_region.sizes["station"], 0)
    inputs = dataclasses.replace(fid_inputs, predictor=net, window=60).first_targets(6)
    return heat_run(inputs, 2, 40)


@pytest.fixture(scope="session")
def untrained_b(fid_inputs, fid_region) -> xr.Dataset:  # noqa: ANN001
    """Another untrained network (other initial weights), same masks."""
    net = untrained_network(fid_region.sizes["station"], 1)
    inputs = dataclasses.replace(fid_inputs, predictor=net, window=60).first_targets(6)
    return heat_run(inputs, 2, 40)


@pytest.fixture(scope="session")
def contribution(fid_inputs) -> xr.Dataset:  # noqa: ANN001
    """The exact contribution truth on the same target days."""
    from hydrointerp.fidelity.truth import contribution_dataset

    return contribution_dataset(fid_inputs)
