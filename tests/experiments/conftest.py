"""Fixtures: one published fine model, the mini year, a small virtual region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr


@pytest.fixture(scope="session")
def mini(shared: Path) -> xr.Dataset:
    """The published mini year (normalised RegionData), without basin masks."""
    from hydrointerp.data.mini import read_mini

    return read_mini(shared, basin_masks=False)


@pytest.fixture(scope="session")
def mini_frames(mini: xr.Dataset) -> np.ndarray:
    """``[729, 12, 32, 3]`` normalised input days 2010-01-01 .. 2011-12-30."""
    return np.asarray(mini["weather"].values[:729], dtype=np.float32)


@pytest.fixture(scope="session")
def coastal_model(shared_data: Path):  # noqa: ANN201
    """``model_fine_0_cluster_3`` (Coastal cluster, 12 stations)."""
    from hydrointerp.models.keras_import import load_keras_model

    return load_keras_model(shared_data / "cnn_lstm_era" / "models" / "model_fine_0_cluster_3.h5")


@pytest.fixture(scope="session")
def virtual_region() -> xr.Dataset:
    """A small virtual region: 6 x 10 cells, 6 stations, one year after a one-year spin-up."""
    from hydrointerp.data.virtual import generate_region
    from hydrointerp.data.virtual_config import VirtualRegionConfig

    cfg = VirtualRegionConfig(n_years=1, spinup_years=1, n_lat=6, n_lon=10, n_stations=6, seed=1)
    return generate_region(cfg)


@pytest.fixture(scope="session")
def sim_inputs(virtual_region: xr.Dataset):  # noqa: ANN201
    """Inputs on the simulator (the truth): 60-day look-back, every 7th day of the year."""
    from hydrointerp.experiments.inputs import simulator_inputs

    return simulator_inputs(virtual_region, lookback=60).every_nth_target(7)
