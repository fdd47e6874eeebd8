"""Experiment 3 (drivers of streamflow rises) on the mini year and on a known-answer flow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.experiments.drivers import (
    Drivers,
    anomalies,
    drivers_experiment,
    drivers_from_flow,
    region_weights,
    regional_anomaly,
)

YEAR = pd.date_range("2011-01-01", "2011-12-31")


def test_drivers_on_published_models_log_settings_and_ci(
    shared_data, mini_stations, mini_frames
) -> None:
    from hydrointerp.models.ensemble import Ensemble

    keep = mini_stations["cluster"].isin([0, 3]).values  # Central (glacial + nival) and Coastal
    stations = mini_stations.isel(station=keep)
    ids = [str(s) for s in stations["station"].values]
    clusters = dict(zip(ids, stations["cluster"].values.tolist(), strict=True))
    ens = Ensemble.load_published(
        shared_data / "cnn_lstm_era" / "models", "fine", ids, clusters, members=range(1)
    )
    settings = Drivers(n_boot=200, n_random=200, max_lag=2)
    ds = drivers_experiment(ens, mini_frames, YEAR, stations, settings)
    assert ds["anomaly"].dims == ("season", "station", "variable", "lag")
    assert set(ds["regime"].values) == {"glacial", "nival", "pluvial"}
    assert ds.attrs["setting_antecedent"] == "last_input" and ds.attrs["setting_n_boot"] == 200
    assert ds.attrs["climatology_years"] == "2010,2011"
    a, lo, hi = ds["anomaly"], ds["anomaly_low"], ds["anomaly_high"]
    assert bool(((lo <= a + 1e-12) & (a <= hi + 1e-12)).all())
    assert bool(((ds["p_value"] > 0) & (ds["p_value"] <= 1)).all())
    # 10 % of each season's days: 9 events in JJA (92 days), 8 in DJF (89 days with a valid rise)
    assert ds["n_events"].sel(season="JJA").values.tolist() == [9] * len(ids)
    # events are the largest rises of the modelled flow
    rise = ds["flow"].diff("time")
    assert float(rise.max()) > 0


def test_known_driver_is_found(mini_stations, mini_frames) -> None:
    stations = mini_stations.isel(station=slice(0, 6))
    weights = region_weights(stations)
    series = regional_anomaly(mini_frames, weights)  # (time, station, variable)
    # a flow whose daily rise is the precipitation anomaly of the last input day
    precip = series.sel(variable="precip").sel(time=slice("2010-12-31", "2011-12-30"))
    rise = precip.values
    flow = xr.DataArray(
        np.cumsum(rise, axis=0),
        dims=("time", "station"),
        coords={"time": YEAR, "station": stations["station"].values},
    )
    ds = drivers_from_flow(flow, mini_frames, stations, Drivers(n_boot=200, n_random=300))
    p0 = ds.sel(variable="precip", lag=0)
    assert bool((p0["anomaly"] > 0.5).all())
    assert bool((p0["p_value"] < 0.01).all())
    # the composite equals the mean of the top-N anomalies by construction
    jja = YEAR.month.isin([6, 7, 8])
    top = np.sort(rise[jja, 0])[::-1][:9]
    assert np.isclose(float(p0["anomaly"].sel(season="JJA").isel(station=0)), top.mean())


def test_anomalies_have_zero_day_of_year_mean(mini_frames) -> None:
    anom = anomalies(mini_frames.isel(lat=slice(0, 2), lon=slice(0, 2)))
    clim = anom.groupby("time.dayofyear").mean("time")
    np.testing.assert_allclose(clim.values, 0.0, atol=1e-5)


def test_period_takes_dates_as_yaml_reads_them() -> None:
    from hydrointerp.cli.experiment_cmds import parse_sets

    given = parse_sets(["period=[2011-06-01, 2011-08-31]", "max_lag=2"])
    st = Drivers.from_settings(given)
    assert st.period == ("2011-06-01", "2011-08-31") and st.max_lag == 2
