"""End to end: raw files in real formats -> `hydrointerp build-region` -> region.nc -> 1 epoch."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from io_rawfiles import basins_frame, era5_dataset, smooth_weather, write_era5, write_hydat
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.data.region import load
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.io import build_region_with_summary, load_build_config

LAT = np.array([52.5, 51.75, 51.0, 50.25, 49.5])
LON360 = np.arange(237.75, 242.3, 0.75)  # 7 columns, 0..360
STATIONS = [
    {
        "id": "08AA001",
        "name": "ALPHA CREEK",
        "prov": "BC",
        "lat": 50.1,
        "lon": -120.2,
        "area": 850.0,
        "reg": 0,
    },
    {
        "id": "08BB002",
        "name": "BETA RIVER",
        "prov": "BC",
        "lat": 50.9,
        "lon": -119.1,
        "area": 120.0,
        "reg": 0,
    },
    {
        "id": "08CC003",
        "name": "NORTH RIVER",
        "prov": "BC",
        "lat": 56.3,
        "lon": -119.0,
        "area": 300.0,
        "reg": 0,
    },
    {
        "id": "08DD004",
        "name": "GAPPY CREEK",
        "prov": "BC",
        "lat": 50.5,
        "lon": -118.6,
        "area": 300.0,
        "reg": 0,
    },
]


@pytest.fixture()
def raw_region(tmp_path, flow_series):
    """ERA5 (three yearly hourly files), HYDAT, basins GeoPackage, RGI shapefile, config."""
    times = pd.date_range("2001-01-01 01:00", "2004-01-01 00:00", freq="h")
    t2m, tp = smooth_weather(times, LAT, LON360, seed=7)
    (tmp_path / "era5").mkdir()
    for year in (2001, 2002, 2003):
        part = np.flatnonzero((times - pd.Timedelta(hours=1)).year == year)
        ds = era5_dataset(times[part], LAT, LON360, t2m[part], tp[part])
        write_era5(tmp_path / "era5" / f"era5_{year}.nc", ds)
    flows = dict(flow_series)
    flows["08CC003"] = flow_series["08AA001"] * 2
    gappy = flow_series["08AA001"].copy()
    gappy.iloc[: 365 * 2] = np.nan  # 2 of 3 years missing
    flows["08DD004"] = gappy
    write_hydat(tmp_path / "Hydat.sqlite3", STATIONS, flows)
    basins_frame(["08AA001"], [(-120.375, 49.875, -119.625, 50.625)]).to_file(
        tmp_path / "basins.gpkg", driver="GPKG"
    )
    glaciers = gpd.GeoDataFrame(
        {"CenLon": [-120.0, -119.0], "CenLat": [50.25, 51.0], "Area": [17.0, 5.0]},
        geometry=[shapely.Point(-120.0, 50.25).buffer(0.01), shapely.Point(-119, 51).buffer(0.01)],
        crs="EPSG:4326",
    )
    glaciers.to_file(tmp_path / "rgi60.shp")
    config = {
        "era5": {"paths": "era5/era5_*.nc", "recipe": "hourly"},
        "flow": {"source": "hydat", "paths": ["Hydat.sqlite3"]},
        "stations": {"ids": [s["id"] for s in STATIONS]},
        "grid": {
            "north": 51.75,
            "south": 49.5,
            "west": -121.5,
            "east": -117.75,
            "resolution": 0.75,
        },
        "period": {"start": "2001-01-01", "end": "2003-12-31"},
        "basins": {"path": "basins.gpkg", "id_column": "StationNum"},
        "glaciers": {"path": "rgi60.shp"},
        "output": "out/region.nc",
    }
    path = tmp_path / "build.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, times, t2m, tp, flows


def test_build_region_cli_then_train_one_epoch(raw_region, tmp_path) -> None:
    config_path, times, t2m, tp, flows = raw_region
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(app, ["build-region", str(config_path)])
    assert result.exit_code == 0, result.output
    print(result.output)
    assert "stations kept: 2, dropped: 2" in result.output
    assert "dropped 08CC003  latitude 56.30 >= 56.00" in result.output
    assert "dropped 08DD004  missing 0.67 > 0.40" in result.output
    assert "no basin outline (1 deg gauge rule): 08BB002" in result.output
    assert "G = 0: 1, 0 < G <= 1 %: 0, 1 % < G <= 10 %: 1, G > 10 %: 0" in result.output

    region = load(tmp_path / "out" / "region.nc")
    assert list(region["station"].values) == ["08AA001", "08BB002"]
    assert region.sizes == {"time": 1095, "lat": 4, "lon": 6, "channel": 3, "station": 2}
    np.testing.assert_allclose(region["lat"], [51.75, 51.0, 50.25, 49.5])
    np.testing.assert_allclose(region["lon"], np.arange(-121.5, -117.7, 0.75))
    # precipitation of 2002-07-01 at (50.25, -120.0): hours 01 UTC Jul 1 .. 00 UTC Jul 2
    day = np.flatnonzero((times >= "2002-07-01 01:00") & (times <= "2002-07-02 00:00"))
    i, j = int(np.flatnonzero(LAT == 50.25)[0]), int(np.flatnonzero(np.isclose(LON360, 240.0))[0])
    cell = region["weather"].sel(time="2002-07-01", lat=50.25, lon=-120.0)
    assert float(cell.sel(channel="precip")) == pytest.approx(1000 * tp[day, i, j].sum(), rel=1e-5)
    assert float(cell.sel(channel="tmax")) == pytest.approx(t2m[day, i, j].max(), rel=1e-6)
    np.testing.assert_allclose(
        region["flow"].sel(station="08BB002").values, flows["08BB002"].values, rtol=1e-6
    )
    assert float(region["basin_mask"].sel(station="08AA001").sum()) == pytest.approx(1.0)
    assert float(region["basin_mask"].sel(station="08AA001", lat=50.25, lon=-120.0)) == 1.0
    np.testing.assert_allclose(region["glacier_fraction"].values, [17.0 / 850.0, 0.0])
    assert region.attrs["era5_recipe"] == "hourly"

    _train_one_epoch(region, tmp_path / "run")


def _train_one_epoch(region, out_dir) -> None:
    from hydrointerp.config import Split, WindowSpec
    from hydrointerp.data.windows import Normaliser, make_windows
    from hydrointerp.models.cnn_lstm import Architecture
    from hydrointerp.training.config import TrainSettings
    from hydrointerp.training.train import train_member

    spec = WindowSpec(
        lookback=20, split=Split(train=(2002, 2002), val=(2003, 2003), test=(2003, 2003))
    )
    normaliser = Normaliser().fit(region, spec.fit_years())
    windows = make_windows(region, normaliser, spec)
    arch = Architecture(n_out=2, conv_filters=(4, 4, 4, 4, 4), lstm_units=4)
    settings = TrainSettings(max_epochs=1, batch_size=400, progress=False, num_threads=2)
    path = train_member(windows, settings, 0, out_dir, arch=arch)
    assert path.is_file()
    log = pd.read_csv(out_dir / "train_log_member_0.csv")
    assert len(log) == 1
    assert np.isfinite(log.select_dtypes("number").to_numpy()).all()


def test_build_config_errors(raw_region, tmp_path) -> None:
    config_path, *_ = raw_region
    raw = yaml.safe_load(config_path.read_text())
    bad = tmp_path / "typo.yaml"
    bad.write_text(yaml.safe_dump({**raw, "perod": {"start": "2001-01-01"}}))
    with pytest.raises(ConfigError, match="perod"):
        load_build_config(bad)
    late = tmp_path / "late.yaml"
    late.write_text(yaml.safe_dump({**raw, "period": {"start": "2001-01-01", "end": "2004-06-30"}}))
    with pytest.raises(DataError, match="do not cover the period") as info:
        build_region_with_summary(load_build_config(late))
    assert info.value.found == "2001-01-01 .. 2003-12-31"
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump({**raw, "stations": {"ids": ["08AA001", "09XX999"]}}))
    result = CliRunner().invoke(app, ["build-region", str(unknown)])
    assert result.exit_code != 0
    assert "09XX999" in str(result.exception)


def test_template_and_wsc_csv_source(raw_region, tmp_path, flow_series) -> None:
    target = tmp_path / "mine.yaml"
    result = CliRunner().invoke(app, ["build-region", str(target), "--template"])
    assert result.exit_code == 0, result.output
    template = load_build_config(target)  # the template itself is a valid config
    assert template.era5.recipe == "hourly" and template.selection.max_lat == 56.0
    again = CliRunner().invoke(app, ["build-region", str(target), "--template"])
    assert again.exit_code != 0 and "exists" in str(again.exception)

    config_path, *_ = raw_region
    raw = yaml.safe_load(config_path.read_text())
    wide = pd.DataFrame(flow_series)
    wide.index.name = "date"
    wide.to_csv(tmp_path / "flows.csv")
    (tmp_path / "candidates.csv").write_text(
        "Station, StationName, Latitude, Longitude, DrainageArea\n"
        " ,  , Degrees, Degrees, km2\n"
        "08AA001, ALPHA CREEK, 50.1, -120.2, 850\n"
        "08BB002, BETA RIVER, 50.9, -119.1, 120\n"
    )
    raw.update(
        flow={"source": "wsc_csv", "paths": "flows.csv"},
        stations={"file": "candidates.csv"},
        glaciers={"table": "glacier.csv"},
    )
    (tmp_path / "glacier.csv").write_text("id,glacier_fraction\n08AA001,0.25\n08BB002,0.0\n")
    path = tmp_path / "csv.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.warns(UserWarning, match="08BB002"):
        region, summary = build_region_with_summary(load_build_config(path))
    assert summary.kept == ["08AA001", "08BB002"] and summary.basin_fallback == ["08BB002"]
    assert region["name"].values.tolist() == ["ALPHA CREEK", "BETA RIVER"]
    assert region["area_km2"].values.tolist() == [850.0, 120.0]
    assert region["glacier_fraction"].values.tolist() == [0.25, 0.0]
    assert summary.glacier_classes["G > 10 %"] == 1
