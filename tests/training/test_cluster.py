"""Station clustering: the published partition from the mini data, features, seasonal flow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydrointerp.training.cluster import (
    cluster_features,
    cluster_groups,
    cluster_stations,
    read_clusters_table,
    seasonal_flow,
)

from .conftest import synthetic_region


@pytest.fixture(scope="module")
def published(shared_data):
    from hydrointerp.data.mini import read_flowseason, read_mini

    mini = shared_data / "cnn_lstm_era" / "mini"
    region = read_mini(mini, basin_masks=False)
    return read_flowseason(mini), region["station_lat"].values, region["station_lon"].values


def test_published_cluster_sizes_and_labels(published):
    fs, lat, lon = published
    clusters = cluster_stations(fs, lat, lon, 6)
    assert np.bincount(clusters.values).tolist() == [52, 62, 34, 12, 39, 27]
    assert clusters.attrs["cluster_names"][3] == "Coastal"
    # the Coastal cluster holds the wettest-in-winter stations: mean Jan flow above mean Jul flow
    coastal = fs.values[:, clusters.values == 3]
    assert (coastal[:31].mean(0) > coastal[181:212].mean(0)).all()
    assert clusters.sel(station="08ME023").item() == 0  # Bridge River: Central (CGU table)


def test_features_layout(published):
    fs, lat, lon = published
    f = cluster_features(fs, lat, lon).values
    assert f.shape == (226, 730)
    np.testing.assert_array_equal(f[:, :365], fs.values.T)
    zlat = (lat - lat.mean()) / lat.std()
    np.testing.assert_allclose(f[:, 365:547], np.repeat(zlat[:, None], 182, 1))
    assert np.allclose(f[:, 547:], f[:, [547]]) and f[:, 547:].shape[1] == 183


def test_seasonal_flow_known_cycle():
    region = synthetic_region(n_stations=3)
    doy = region.time.dt.dayofyear.values
    cycle = np.sin(2 * np.pi * doy / 365.0)
    region["flow"].values[:] = (5 + cycle)[:, None] * np.array([1.0, 2.0, 3.0])
    region["flow"].values[40:60, 0] = np.nan
    fs = seasonal_flow(region)
    assert fs.dims == ("dayofyear", "station") and fs.sizes["dayofyear"] == 365
    z = np.sin(2 * np.pi * np.arange(1, 366) / 365.0)
    z = (z - z.mean()) / z.std()
    for s in range(3):
        np.testing.assert_allclose(fs.values[:, s], z, atol=2e-5)  # flow is float32


def test_cluster_cli_writes_table_and_figures(shared, tmp_path):
    from typer.testing import CliRunner

    from hydrointerp.cli import app

    out = tmp_path / "clusters.csv"
    res = CliRunner().invoke(app, ["cluster", "--data", str(shared), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype={"station_id": str})
    assert list(table.columns[:2]) == ["station_id", "cluster"] and len(table) == 226
    assert table["cluster"].value_counts().sort_index().tolist() == [52, 62, 34, 12, 39, 27]
    assert (tmp_path / "clusters_dendrogram.png").stat().st_size > 10_000
    assert (tmp_path / "clusters_patterns.png").stat().st_size > 10_000
    back = read_clusters_table(str(out))
    assert [len(g) for g in cluster_groups(back)] == [52, 62, 34, 12, 39, 27]
