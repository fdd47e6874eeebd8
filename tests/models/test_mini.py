"""The mini year as RegionData: calendar, alignment, constants, stations, and bad input."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from hydrointerp.data import region
from hydrointerp.data.mini import NORMALISATION, read_flowseason, read_mini
from hydrointerp.errors import DataError


def test_mini_calendar_and_values(mini, mini_raw):
    assert mini.sizes == {"time": 730, "lat": 12, "lon": 32, "channel": 3, "station": 226}
    assert str(mini.time.values[0])[:10] == "2010-01-01"
    assert region.weather_end(mini) == pd.Timestamp("2011-12-30")
    assert region.is_normalised(mini)
    assert np.isnan(mini["weather"].sel(time="2011-12-31")).all()
    np.testing.assert_array_equal(mini["weather"].values[:729], mini_raw["x"])
    np.testing.assert_array_equal(mini["weather"].sel(time="2011-01-01"), mini_raw["x"][365])
    assert np.isnan(mini["flow"].sel(time="2010")).all()
    np.testing.assert_array_equal(mini["flow"].sel(time="2011").values, mini_raw["y"])
    np.testing.assert_array_equal(mini.lat.values, 56.25 - 0.75 * np.arange(12))
    assert mini.lon.values[0] == -133.0 and mini.lon.values[-1] == -109.75


def test_normalisation_constants_make_tmax_above_tmin(mini):
    a = mini.attrs
    assert a["normalisation_tmax_mean_K"] == pytest.approx(280.5563, abs=1e-4)
    assert a["normalisation_tmin_std_K"] == pytest.approx(9.7684, abs=1e-4)
    w = mini["weather"].isel(time=slice(0, 729))
    tmax = w.sel(channel="tmax") * a["normalisation_tmax_std_K"] + a["normalisation_tmax_mean_K"]
    tmin = w.sel(channel="tmin") * a["normalisation_tmin_std_K"] + a["normalisation_tmin_mean_K"]
    assert float((tmax - tmin).min()) > 0
    zero_precip = -NORMALISATION["precip_mean_over_std"]
    assert float(w.sel(channel="precip").min()) == pytest.approx(zero_precip, abs=2e-3)


def test_stations(mini, mini_raw):
    assert mini.station.values[0] == "07EC002" and mini.station.values[225] == "11AA026"
    assert mini.station.values[128] == "08OA002" and mini.station.values[129] == "05AA004"
    assert mini["name"].values[0] == "OMINECA RIVER ABOVE OSILINKA RIVER"
    assert (mini.station_lon.values < 0).all()
    np.testing.assert_array_equal(mini.station_lon.values, mini_raw["info"]["Longitude"])
    g = mini.glacier_fraction.to_series()
    assert g.idxmax() == "08ME023" and g.max() == pytest.approx(0.5913, abs=1e-4)
    assert int((g == 0).sum()) == 139


def test_basin_masks_and_round_trip(shared_data, tmp_path):
    ds = read_mini(shared_data / "cnn_lstm_era" / "mini")
    outlined = (ds["basin_mask"].sum(("lat", "lon")) > 0).sum()
    assert int(outlined) == 118
    assert float(ds["basin_mask"].max()) <= 1.0
    path = region.save(ds, tmp_path / "mini.nc")
    back = region.load(path)
    assert back.attrs["weather_end"] == "2011-12-30"
    np.testing.assert_array_equal(back["flow"].values, ds["flow"].values)


def test_flowseason(mini_raw):
    fs = read_flowseason()
    assert fs.dims == ("dayofyear", "station") and fs.shape == (365, 226)
    np.testing.assert_allclose(fs.mean("dayofyear"), 0, atol=1e-9)
    np.testing.assert_array_equal(fs.values, mini_raw["flowseason"])


def test_bad_pickle_is_refused(shared_data, tmp_path):
    src = shared_data / "cnn_lstm_era"
    dst = tmp_path / "cnn_lstm_era"
    shutil.copytree(src / "mini", dst / "mini")
    shutil.copytree(src / "stations", dst / "stations")
    with open(dst / "mini" / "y_mini.pickle", "wb") as fh:
        pickle.dump(np.zeros((364, 226), np.float16), fh)
    with pytest.raises(DataError, match=r"y_mini.*shape \(365, 226\).*shape \(364, 226\)"):
        read_mini(dst / "mini", basin_masks=False)
