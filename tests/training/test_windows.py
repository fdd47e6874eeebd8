"""Normaliser and look-back windows against exact hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hydrointerp.config import Split, WindowSpec
from hydrointerp.data.region import make_region
from hydrointerp.data.windows import Normaliser, climatology_fill, make_windows
from hydrointerp.errors import DataError

from .conftest import SPEC, synthetic_region


def test_normaliser_fit_matches_numpy(region):
    norm = Normaliser().fit(region, (2000, 2001))
    days = (region.time.dt.year >= 2000) & (region.time.dt.year <= 2001)
    w = region["weather"].values[days.values].astype(np.float64)
    np.testing.assert_allclose(norm.channel_mean.values, w.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(norm.channel_std.values, w.std(axis=(0, 1, 2)), rtol=1e-12)
    f = region["flow"].values[days.values].astype(np.float64)
    np.testing.assert_allclose(norm.flow_mean.values, f.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.flow_std.values, f.std(0), rtol=1e-12)
    z = norm.transform_weather(region)
    assert z.dims == ("time", "lat", "lon", "channel") and z.dtype == np.float32
    np.testing.assert_allclose(z.values[days.values].mean(axis=(0, 1, 2)), 0, atol=1e-5)


def test_normaliser_ignores_missing_flow_and_round_trips(region, tmp_path):
    region["flow"][100:150, 1] = np.nan
    norm = Normaliser().fit(region, (2000, 2001))
    f = region["flow"].values[:731, 1].astype(np.float64)
    assert norm.flow_mean.values[1] == pytest.approx(np.nanmean(f), rel=1e-12)
    norm.save(tmp_path / "normaliser.nc")
    back = Normaliser.load(tmp_path / "normaliser.nc")
    assert back.fit_years == (2000, 2001) and not back.identity
    for name in ("channel_mean", "channel_std", "flow_mean", "flow_std"):
        np.testing.assert_array_equal(getattr(back, name).values, getattr(norm, name).values)
    z = back.transform_flow(region["flow"])
    assert np.isnan(z.values[100:150, 1]).all()
    np.testing.assert_allclose(back.inverse_flow(z).values, region["flow"].values, rtol=1e-5)


def test_normaliser_rejects_station_without_flow(region):
    region["flow"][:, 2] = np.nan
    with pytest.raises(DataError, match="S2"):
        Normaliser().fit(region, (2000, 2001))


def test_windows_alignment_target_uses_previous_days():
    # weather equals the day index, so a window's content names its days exactly
    time = pd.date_range("2000-01-01", "2002-12-31")
    w = np.broadcast_to(
        np.arange(len(time), dtype=np.float32)[:, None, None, None], (len(time), 2, 3, 3)
    ).copy()
    flow = np.random.default_rng(1).gamma(2, size=(len(time), 2))
    region = make_region(w, time, [50, 49], [-120, -119, -118], flow, ["a", "b"])
    norm = Normaliser(identity=False).fit(region, (2000, 2001))
    spec = WindowSpec(
        lookback=10, split=Split(train=(2001, 2001), val=(2002, 2002), test=(2002, 2002))
    )
    win = make_windows(region, norm, spec)
    t = int(win.splits["train"][0])
    assert win.dates[t] == pd.Timestamp("2001-01-01")
    mean, std = norm.channel_mean.values[0], norm.channel_std.values[0]
    days = win.frames[t - 10 : t, 0, 0, 0].double() * std + mean
    np.testing.assert_allclose(days.numpy(), np.arange(t - 10, t), atol=1e-3)
    assert win.splits["val"][-1] == len(time) - 1
    np.testing.assert_allclose(
        win.targets[t].numpy(), norm.transform_flow(region["flow"]).values[t], rtol=1e-6
    )


def test_first_windows_need_full_lookback(region):
    norm = Normaliser().fit(region, (2000, 2000))
    spec = WindowSpec(
        lookback=400, split=Split(train=(2000, 2001), val=(2002, 2002), test=(2003, 2003))
    )
    win = make_windows(region, norm, spec)
    assert win.splits["train"][0] == 400


def test_missing_weather_is_an_error(region):
    norm = Normaliser().fit(region, (2000, 2001))
    region["weather"].values[5, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="missing weather"):
        make_windows(region, norm, SPEC)


def test_climatology_fill_uses_day_of_year_mean(region):
    flow = region["flow"].copy()
    flow[400, 0] = np.nan  # 2001-02-04: day index 34
    filled = climatology_fill(flow)
    same_day = flow.values[[34, 34 + 366, 34 + 731, 34 + 1096], 0]
    assert filled.values[400, 0] == pytest.approx(np.nanmean(same_day), rel=1e-6)
    win = make_windows(
        region.assign(flow=flow),
        Normaliser().fit(region, (2000, 2001)),
        SPEC.model_copy(update={"missing_flow": "climatology"}),
    )
    assert not torch.isnan(win.targets).any()


def test_identity_for_normalised_mini(shared_data):
    from hydrointerp.data.mini import read_mini

    mini = read_mini(shared_data / "cnn_lstm_era" / "mini", basin_masks=False)
    norm = Normaliser().fit(mini, (2010, 2011))
    assert norm.identity
    spec = WindowSpec(split=Split(train=(2011, 2011), val=(2011, 2011), test=(2011, 2011)))
    win = make_windows(mini, norm, spec)
    assert len(win.splits["test"]) == 365 and win.frames.shape == (729, 12, 32, 3)
    np.testing.assert_array_equal(win.frames.numpy(), mini["weather"].values[:729])
    ds = norm.to_dataset()
    assert ds["published_channel_mean"].sel(channel="tmax") == pytest.approx(280.5563, abs=1e-4)


def test_synthetic_helper_is_deterministic():
    a, b = synthetic_region(seed=3), synthetic_region(seed=3)
    np.testing.assert_array_equal(a["weather"].values, b["weather"].values)
