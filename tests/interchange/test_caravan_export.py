"""The Caravan export, read back with neuralhydrology's own Caravan dataset and loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.data.virtual import VirtualRegionConfig, generate_region
from hydrointerp.errors import DataError
from hydrointerp.interchange.caravan import basin_weights, export_caravan

caravan = pytest.importorskip("neuralhydrology.datasetzoo.caravan")


@pytest.fixture(scope="module")
def region() -> xr.Dataset:
    cfg = VirtualRegionConfig(seed=3, n_years=3, spinup_years=1, n_lat=6, n_lon=8, n_stations=6)
    return generate_region(cfg)


@pytest.fixture(scope="module")
def exported(region, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("caravan") / "out"
    region.to_netcdf(root.parent / "region.nc", engine="h5netcdf")
    result = CliRunner().invoke(
        app, ["export", "caravan", str(root.parent / "region.nc"), str(root)]
    )
    assert result.exit_code == 0, result.output
    return root


def test_neuralhydrology_reads_the_export(region, exported) -> None:
    ids = [f"hydrointerp_{s}" for s in region["station"].values]
    attrs = caravan.load_caravan_attributes(exported, basins=ids)
    assert list(attrs.index) == ids
    np.testing.assert_allclose(attrs["area"], region["area_km2"].values)
    np.testing.assert_allclose(attrs["gauge_lat"], region["station_lat"].values)
    st = str(region["station"].values[2])
    df = caravan.load_caravan_timeseries(exported, f"hydrointerp_{st}")
    # streamflow in mm/d from m3/s and the basin area, by hand
    area = float(region["area_km2"].sel(station=st))
    q = region["flow"].sel(station=st).to_series().astype(float) * 86.4 / area
    np.testing.assert_allclose(df["streamflow"].to_numpy(), q.loc[df.index].to_numpy(), rtol=1e-6)
    # basin-mean precipitation by hand: mask x cell area (cos-latitude band) weights
    mask = region["basin_mask"].sel(station=st).values.astype(float)
    lat = np.deg2rad(region["lat"].values)
    half = np.deg2rad(0.75) / 2
    band = np.abs(np.sin(lat + half) - np.sin(lat - half))[:, None] * np.ones(mask.shape)
    w = mask * band / (mask * band).sum()
    p = region["weather"].sel(channel="precip").values.astype(float)
    np.testing.assert_allclose(
        df["total_precipitation_sum"].to_numpy(), (p * w).sum((1, 2)), rtol=1e-5
    )
    t = region["weather"].sel(channel="tmax").values.astype(float)
    np.testing.assert_allclose(
        df["temperature_2m_max"].to_numpy(), (t * w).sum((1, 2)) - 273.15, rtol=1e-5, atol=1e-4
    )


def test_the_caravan_dataset_class_serves_samples(region, exported, tmp_path) -> None:
    from neuralhydrology.utils.config import Config

    ids = [f"hydrointerp_{s}" for s in region["station"].values]
    basins = tmp_path / "basins.txt"
    basins.write_text("\n".join(ids) + "\n")
    cfg = Config(
        {
            "dataset": "caravan",
            "data_dir": str(exported),
            "train_basin_file": str(basins),
            "validation_basin_file": str(basins),
            "test_basin_file": str(basins),
            "train_start_date": "01/01/2000",
            "train_end_date": "31/12/2000",
            "validation_start_date": "01/01/2001",
            "validation_end_date": "31/12/2001",
            "test_start_date": "01/01/2002",
            "test_end_date": "31/12/2002",
            "dynamic_inputs": ["total_precipitation_sum", "temperature_2m_mean"],
            "static_attributes": ["area", "p_mean", "glacier_fraction"],
            "target_variables": ["streamflow"],
            "seq_length": 30,
            "predict_last_n": 1,
            "model": "cudalstm",
            "hidden_size": 4,
            "run_dir": str(tmp_path / "run"),
            "train_dir": str(tmp_path / "run"),
            "loss": "NSE",
            "num_workers": 0,
        }
    )
    (tmp_path / "run").mkdir()
    ds = caravan.Caravan(cfg, is_train=True, period="train")
    # every day of 2000 is a target: its 30-day window reaches back into 1999, also exported
    assert len(ds) == 6 * 366
    sample = ds[0]
    assert sample["x_d"]["total_precipitation_sum"].shape == (30, 1)
    assert sample["x_s"].shape == (3,)


def test_export_refuses_missing_basins(region, tmp_path) -> None:
    bad = region.copy()
    bad["basin_mask"] = bad["basin_mask"].where(bad["station"] != "VR002", 0.0)
    with pytest.raises(DataError, match="VR002"):
        basin_weights(bad)
    with pytest.raises(DataError, match="area_km2"):
        export_caravan(region.drop_vars("area_km2"), tmp_path)
    assert not list(Path(tmp_path).glob("**/*.csv"))
    assert isinstance(pd.Timestamp(region["time"].values[0]), pd.Timestamp)
