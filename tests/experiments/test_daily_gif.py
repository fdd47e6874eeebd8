"""The Experiment 1 animation: one frame per day, drawn in the map's own colours."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image

from hydrointerp.plots.daily import cluster_gif


def _daily(n_days: int = 6) -> xr.Dataset:
    lat, lon = np.linspace(56, 48, 6), np.linspace(-133, -110, 10)
    sens = np.zeros((n_days, 1, 6, 10))
    for d in range(n_days):
        sens[d, 0, d % 6, :] = 1.0  # a band that moves south day by day
    in_near = np.zeros((2, 6, 10), dtype=bool)
    in_near[0, 2:4, 3:5] = True
    return xr.Dataset(
        {
            "sensitivity": (("time", "cluster", "lat", "lon"), sens),
            "in_near": (("station", "lat", "lon"), in_near),
            "cluster_flow": (("time", "cluster"), np.sin(np.arange(n_days))[:, None]),
        },
        coords={
            "time": pd.date_range("2011-06-01", periods=n_days),
            "cluster": [0],
            "cluster_name": ("cluster", ["Coastal"]),
            "lat": lat,
            "lon": lon,
            "station": ["a", "b"],
            "station_cluster": ("station", [0, 0]),
            "station_lat": ("station", [52.0, 50.0]),
            "station_lon": ("station", [-125.0, -120.0]),
        },
    )


def test_cluster_gif_has_one_frame_per_day_and_moving_maps(tmp_path) -> None:
    path = cluster_gif(_daily(), 0, tmp_path / "c0.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 6
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    assert frames[0].shape[2] == 3
    assert not np.array_equal(frames[0], frames[1])  # the map changes from day to day
    # the hottest map colour (top of RdBu_r) is drawn exactly, not a palette neighbour
    top = np.round(np.asarray(matplotlib.colormaps["RdBu_r"](1.0)[:3]) * 255).astype(np.uint8)
    assert np.any(np.all(frames[0] == top, axis=2))
