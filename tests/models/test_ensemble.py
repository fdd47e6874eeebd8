"""Ensembles on the published mini year: NSE against an independent NumPy forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydrointerp.errors import DataError, ModelFormatError
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.keras_import import load_keras_model
from hydrointerp.predictor import Predictor


@pytest.fixture(scope="module")
def ids(mini):
    return [str(s) for s in mini.station.values]


@pytest.fixture(scope="module")
def bulk(models_dir, ids):
    return Ensemble.load_published(models_dir, "bulk", ids, float16_inputs=True)


@pytest.fixture(scope="module")
def bulk_pred(bulk, mini):
    return bulk.predict(mini["weather"], mini.time.sel(time="2011").values)


def test_bulk_median_nse_matches_numpy(bulk_pred, models_dir, mini_raw, ref):
    days = mini_raw["x"].astype(np.float16).astype(np.float64)
    targets = np.arange(365, 730)
    members = [
        ref.predict(ref.read(models_dir / f"model_bulk_{i}.h5"), days, targets) for i in range(10)
    ]
    nse_numpy = np.median(ref.nse(np.mean(members, axis=0), mini_raw["y"]))
    nse_torch = np.median(ref.nse(bulk_pred["ensemble_mean"].values, mini_raw["y"]))
    print(f"bulk ensemble median NSE: torch {nse_torch:.4f}, numpy {nse_numpy:.4f}")
    assert round(nse_torch, 3) == round(nse_numpy, 3)
    assert 0.5 < nse_torch < 0.8
    np.testing.assert_allclose(bulk_pred["prediction"].values[3], members[3], atol=1e-4)


def test_predict_is_labelled(bulk_pred, bulk, ids):
    assert isinstance(bulk, Predictor)
    assert bulk_pred["prediction"].dims == ("member", "time", "station")
    assert bulk_pred.sizes == {"member": 10, "time": 365, "station": 226}
    assert str(bulk_pred.time.values[0])[:10] == "2011-01-01"
    assert list(bulk_pred.station.values) == ids
    mean = bulk_pred["prediction"].mean("member")
    np.testing.assert_allclose(bulk_pred["ensemble_mean"], mean, atol=1e-6)


def test_fine_routed_beats_bulk(models_dir, ids, mini, published_clusters, bulk_pred, ref):
    fine = Ensemble.load_published(
        models_dir, "fine", ids, clusters=published_clusters, float16_inputs=True
    )
    assert fine.n_members == 10 and len(fine.members) == 60
    groups = {g.label: g for g in fine.network_groups()}
    assert {k: len(g.station_ids) for k, g in groups.items()} == {
        0: 52,
        1: 62,
        2: 34,
        3: 12,
        4: 39,
        5: 27,
    }
    pred = fine.predict(mini["weather"], mini.time.sel(time="2011").values)
    obs = mini["flow"].sel(time="2011").values
    nse_fine = np.median(ref.nse(pred["ensemble_mean"].values, obs))
    nse_bulk = np.median(ref.nse(bulk_pred["ensemble_mean"].values, obs))
    print(f"median NSE: fine {nse_fine:.4f}, bulk {nse_bulk:.4f}")
    assert nse_fine > nse_bulk
    # routing: cluster 3's columns are exactly its member-0 model's outputs
    group = groups[3]
    assert [fine.station_ids[i] for i in group.positions] == list(group.station_ids)
    direct = group.members[0].predict_block(
        mini["weather"].values[:729].astype(np.float16), np.arange(365, 730)
    )
    np.testing.assert_allclose(
        pred["prediction"].sel(member=0, station=list(group.station_ids)).values, direct, atol=1e-6
    )


def test_cluster_size_mismatch_is_refused(models_dir, ids, published_clusters):
    wrong = dict(published_clusters)
    moved = next(s for s, k in wrong.items() if k == 3)
    wrong[moved] = 0
    with pytest.raises(ModelFormatError, match="outputs 52 stations but the group has 53"):
        Ensemble.load_published(models_dir, "fine", ids, clusters=wrong, members=[0])


def test_routed_groups_must_cover_stations(models_dir):
    model = load_keras_model(models_dir / "model_fine_0_cluster_3.h5")
    ids = [f"s{i}" for i in range(13)]
    with pytest.raises(DataError, match="exactly one group"):
        Ensemble.routed({3: ([model], ids[:12])}, ids)
    ens = Ensemble.routed({3: ([model], ids[:12])}, ids[:12]).to("cpu")
    out = ens.predict_block(torch.zeros(2, 366, 12, 32, 3), [365, 366])
    assert out.shape == (2, 2, 12) and ens.device.type == "cpu"


def test_windows_outside_frames_are_refused(bulk, mini):
    with pytest.raises(DataError, match="preceding lookback days"):
        bulk.predict(mini["weather"], mini.time.values[364:366])
