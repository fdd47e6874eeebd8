"""Heat map, Experiment 1 and Experiment 2 with registered attribution methods other than the
published perturbation: the same output layouts, built from the registry's maps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import xarray as xr
from typer.testing import CliRunner

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.catalog import ChannelImportance, DailyMaps, Drivers, HeatMap
from hydrointerp.experiments.method_maps import attribution_maps
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture


@pytest.fixture(scope="module")
def net_inputs(sim_inputs):  # noqa: ANN001, ANN201
    """The virtual region's inputs with a random tiny CNN-LSTM (60-day window), 5 days."""
    torch.manual_seed(0)
    n_st = sim_inputs.stations.sizes["station"]
    arch = Architecture(
        n_out=n_st, conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0, lstm_units=6
    )
    net = CNNLSTM(arch).eval()
    net.lookback = sim_inputs.lookback
    return replace(sim_inputs, predictor=net).first_targets(5)


def test_occlusion_heat_map_of_the_simulator_is_zero_outside_each_basin(
    sim_inputs, virtual_region
) -> None:
    inputs = sim_inputs.first_targets(3)
    ds = HeatMap(method="occlusion")(inputs)
    basin = (virtual_region["basin_mask"] > 0).transpose("station", "lat", "lon")
    raw = ds["raw_sensitivity_member"].isel(member=0)
    assert float(raw.where(~basin, 0.0).max()) == 0.0  # occluding a cell outside: no change
    assert bool((raw.where(basin, 0.0).max(("lat", "lon")) > 0).all())
    assert ds.attrs["method"] == "occlusion" and ds.attrs["attribution_baseline"] == "zero"
    assert ds["sensitivity"].dims == ("station", "lat", "lon")


def test_heat_map_is_the_time_mean_of_the_methods_maps(net_inputs) -> None:
    hs = HeatMap(method="input_x_gradient", perturbation=Perturbation(channels=(0, 2)))
    ds = hs(net_inputs)
    maps = attribution_maps(net_inputs, "input_x_gradient", groups=[(0, 2)], progress=False)
    want = maps.isel(channel=0).mean("time").transpose("station", "lat", "lon")
    np.testing.assert_allclose(ds["raw_sensitivity_member"].isel(member=0), want, rtol=1e-6)


def test_daily_and_channels_with_a_gradient_method(net_inputs) -> None:
    daily = DailyMaps(method="saliency", pattern_rule="flow_threshold")(net_inputs)
    maps = attribution_maps(net_inputs, "saliency", groups=[(0, 1, 2)], progress=False)
    labels = net_inputs.stations["cluster"].rename("cluster")
    cluster_mean = maps.isel(channel=0).groupby(labels).mean("station")
    np.testing.assert_allclose(
        daily["sensitivity"], cluster_mean.transpose("time", "cluster", "lat", "lon"), rtol=1e-6
    )
    assert {"pattern_map", "pattern_ks_d", "max_sensitivity"} <= set(daily.data_vars)
    ch = ChannelImportance(method="saliency")(net_inputs)
    # saliency magnitudes add over channels: the (tmax, tmin) group is the sum of the two
    per_channel = attribution_maps(net_inputs, "saliency", progress=False)
    s_t = per_channel.isel(channel=[0, 1]).sum("channel").max(("lat", "lon"))
    np.testing.assert_allclose(ch["s_temperature_station"], s_t.transpose("time", "station"), 1e-5)
    assert ch.attrs["method"] == "saliency"


def test_unknown_method_and_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"'experiments.settings.daily.method'.*must be one of"):
        DailyMaps.from_settings({"method": "deeplift"})
    with pytest.raises(ConfigError, match="unknown attribution setting"):
        ChannelImportance.from_settings({"method": "rise", "attribution": {"masks": 10}})


def test_heat_map_verb_writes_the_method_suffixed_file(tmp_path, virtual_region) -> None:
    from hydrointerp.cli import app
    from hydrointerp.data.region import save
    from hydrointerp.data.windows import Normaliser

    save(virtual_region, tmp_path / "region.nc")
    Normaliser().fit(virtual_region, (1999, 2000)).save(tmp_path / "normaliser.nc")
    out = tmp_path / "run"
    args = [
        "experiment",
        "heat-map",  # hyphens read as underscores
        "--models",
        "simulator",
        "--data",
        str(tmp_path),
        "--out",
        str(out),
        "--day-step",
        "180",
        "--set",
        "method=rise",
        "--no-figures",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ds = xr.load_dataset(out / "experiments" / "heat_map_rise.nc")
    assert ds.attrs["setting_method"] == "rise" and ds.attrs["attribution_n_masks"] == 200
    assert not (out / "experiments" / "heat_map.nc").exists()


def test_pipeline_names_the_method_files_and_keeps_the_simulator_truth() -> None:
    from hydrointerp.fidelity.controls import VARIANTS
    from hydrointerp.pipeline.experiment_stages import variant_experiment

    occ = DailyMaps(method="occlusion")
    assert occ.result_stem() == "sensitivity_daily_occlusion"
    assert DailyMaps().result_stem() == "sensitivity_daily"
    assert occ.result_stem("simulator") == "sensitivity_daily"
    assert Drivers().result_stem() == "drivers"  # not a map experiment
    with pytest.raises(ConfigError, match="unknown key 'experiments.settings.drivers.method'"):
        Drivers.from_settings({"method": "x"})
    stem = occ.result_stem(VARIANTS["random_all"].predictor)
    assert VARIANTS["random_all"].path(stem).endswith("random_all/sensitivity_daily_occlusion.nc")
    # the simulator has no gradients: its truth for a gradient method is the perturbation
    sal = DailyMaps(method="saliency")
    assert variant_experiment(sal, VARIANTS["simulator"]).method == "perturbation"
    assert variant_experiment(DailyMaps(method="rise"), VARIANTS["simulator"]).method == "rise"
    assert variant_experiment(sal, VARIANTS["model"]).method == "saliency"
    # independent draws of a control keep the method and move only the mask seed
    b = variant_experiment(sal, VARIANTS["simulator_b"])
    assert b.perturbation.seed == sal.perturbation.seed + VARIANTS["simulator_b"].seed_offset
