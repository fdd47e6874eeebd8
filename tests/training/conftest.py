"""Small synthetic regions and models for the training tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.config import Split, WindowSpec
from hydrointerp.data.region import make_region
from hydrointerp.data.windows import Normaliser, make_windows
from hydrointerp.models.cnn_lstm import Architecture


def synthetic_region(
    n_stations: int = 4, start: str = "2000-01-01", end: str = "2003-12-31", seed: int = 0
) -> xr.Dataset:
    """Random weather on a 4x6 grid; flow = smoothed precipitation at one pixel per station."""
    rng = np.random.default_rng(seed)
    time = pd.date_range(start, end, freq="D")
    w = rng.normal(size=(len(time), 4, 6, 3)).astype(np.float32)
    w[..., 0] = 280 + 8 * w[..., 0]
    w[..., 1] = 272 + 6 * w[..., 1]
    w[..., 2] = np.abs(w[..., 2]) * 3
    kernel = np.exp(-np.arange(15) / 4.0)
    flow = np.stack(
        [np.convolve(w[:, s % 4, s, 2], kernel)[: len(time)] + 1 for s in range(n_stations)], 1
    )
    return make_region(
        w,
        time,
        [50.0, 49.0, 48.0, 47.0],
        np.arange(6) - 120.0,
        flow,
        [f"S{s}" for s in range(n_stations)],
        station_lat=np.linspace(47, 50, n_stations),
        station_lon=np.linspace(-120, -115, n_stations),
    )


SPEC = WindowSpec(lookback=20, split=Split(train=(2001, 2001), val=(2002, 2002), test=(2003, 2003)))
TINY = dict(conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0, lstm_units=8)


@pytest.fixture
def region() -> xr.Dataset:
    return synthetic_region()


@pytest.fixture
def windows(region):
    norm = Normaliser().fit(region, SPEC.fit_years())
    return make_windows(region, norm, SPEC)


@pytest.fixture
def tiny_arch(windows) -> Architecture:
    return Architecture(n_out=windows.n_stations, **TINY)
