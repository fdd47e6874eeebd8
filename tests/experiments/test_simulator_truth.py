"""Experiments on the virtual region's simulator, whose truth is known."""

from __future__ import annotations

import numpy as np

from hydrointerp.experiments.catalog import ChannelImportance, DailyMaps, HeatMap, Perturbation
from hydrointerp.experiments.channels import seasonal_dominance
from hydrointerp.experiments.daily import pattern_contrast
from hydrointerp.experiments.daily_sweep import daily_maps


def test_single_cell_maps_are_exactly_zero_outside_each_basin(sim_inputs, virtual_region) -> None:
    inputs = sim_inputs.first_targets(12)
    heat = Perturbation(iters_one_pass=30, iters_total=60, truncate=0.5, seed=2)
    maps, flow = daily_maps(inputs, heat, progress=False)
    basin = (virtual_region["basin_mask"] > 0).transpose("station", "lat", "lon").values
    values = maps.transpose("time", "station", "lat", "lon").values
    assert np.all(values[:, ~basin] == 0.0)  # not a single perturbed cell outside responds
    assert values[:, basin].max() > 0.0
    assert flow.shape == (12, virtual_region.sizes["station"])


def test_heat_map_and_daily_outputs_on_the_simulator(sim_inputs, virtual_region) -> None:
    inputs = sim_inputs.first_targets(8)
    quick = Perturbation(iters_one_pass=10, iters_total=20, truncate=0.5)
    ds = HeatMap(perturbation=quick)(inputs)
    basin = (virtual_region["basin_mask"] > 0).transpose("station", "lat", "lon")
    raw = ds["raw_sensitivity_member"].isel(member=0)
    assert float(abs(raw.where(~basin, 0.0)).max()) == 0.0
    assert ds["sensitivity"].dims == ("station", "lat", "lon")
    np.testing.assert_allclose(ds["sensitivity"].mean(("lat", "lon")), 0.0, atol=1e-5)
    quick = Perturbation(iters_one_pass=10, iters_total=20)
    daily = DailyMaps(perturbation=quick, pattern_rule="flow_threshold")(inputs)
    assert daily["sensitivity"].dims == ("time", "cluster", "lat", "lon")
    assert set(np.unique(daily["pattern"].values)) <= {0, 1}
    high = daily["cluster_flow"].where(daily["pattern"] == 1).min()
    low = daily["cluster_flow"].where(daily["pattern"] == 0).max()
    assert float(high) >= float(low)  # the threshold rule splits on modelled flow
    # the simulator only responds inside basins: each station's pattern maps are higher in/near
    # its basin than far from it, so the pooled D is signed + for both patterns
    assert bool((daily["pattern_ks_sign"] == 1.0).all())
    contrast = pattern_contrast(daily)
    assert contrast.dims == ("flow_pattern", "cluster") and bool(np.isfinite(contrast).all())


def test_channel_importance_matches_the_simulated_processes(sim_inputs) -> None:
    ds = ChannelImportance(perturbation=Perturbation(iters_one_pass=20, iters_total=40))(sim_inputs)
    assert set(ds["group"].values) >= {"Glacial", "Pluvial"}
    s_t, s_p = ds["s_temperature"], ds["s_precipitation"]
    peak_month = int(s_t.sel(group="Glacial").idxmax("time").dt.month)
    assert 5 <= peak_month <= 9, peak_month  # melt season
    # precipitation dominates the pluvial basins: it beats temperature on most days there, and
    # on more days than in any other regime (snow and ice store the rain elsewhere)
    st, sp = ds["s_temperature_station"], ds["s_precipitation_station"]
    share = (sp > st).mean("time").groupby(ds["station_group"]).mean()
    assert float(share.sel(station_group="Pluvial")) > 0.5
    assert share.idxmax().item() == "Pluvial", share.to_series().to_dict()
    winter = sp["time"].dt.month.isin([12, 1, 2])
    rain_winter = sp.where(winter).mean("time").groupby(ds["station_group"]).mean()
    assert float(rain_winter.sel(station_group="Pluvial")) > 5 * float(
        rain_winter.sel(station_group="Glacial")
    )
    assert float(seasonal_dominance(ds)["t_minus_p_cold"].sel(group="Pluvial")) < 0
    for curve in (s_t, s_p):
        np.testing.assert_allclose(curve.max("time"), 1.0)
        np.testing.assert_allclose(curve.min("time"), 0.0, atol=1e-12)
