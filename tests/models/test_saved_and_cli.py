"""Saved-model round trip, load_model format sniffing, and the import-keras / predict verbs."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.errors import ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.saved import load_model, save_model


def test_round_trip_small_model(tmp_path):
    torch.manual_seed(3)
    model = CNNLSTM(Architecture(n_out=4, conv_filters=(8, 4), conv_kernels=(1, 3), pool_after=0))
    path = save_model(model, tmp_path / "m.pt", provenance={"note": "unit", "seed": 3})
    back = load_model(path)
    assert back.arch == model.arch and back.provenance == {"note": "unit", "seed": 3}
    x = torch.randn(2, 20, 12, 32, 3)
    with torch.inference_mode():
        torch.testing.assert_close(back(x), model.eval()(x), atol=0, rtol=0)
    assert not list(tmp_path.glob(".*tmp"))


def test_load_model_sniffs_content(models_dir, tmp_path):
    disguised = tmp_path / "keras_model.pt"  # a Keras file with the wrong suffix
    shutil.copy(models_dir / "model_fine_1_cluster_5.h5", disguised)
    model = load_model(disguised)
    assert model.arch.n_out == 27 and model.provenance["source_format"] == "keras-hdf5"
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelFormatError, match="junk.h5"):
        load_model(junk)


def test_import_keras_then_predict(models_dir, shared_data, tmp_path):
    runner = CliRunner()
    src = [str(models_dir / f"model_bulk_{i}.h5") for i in (0, 1)]
    result = runner.invoke(app, ["import-keras", *src, "--out", str(tmp_path / "pt")])
    assert result.exit_code == 0, result.output
    converted = sorted((tmp_path / "pt").glob("*.pt"))
    assert [p.name for p in converted] == ["model_bulk_0.pt", "model_bulk_1.pt"]
    assert load_model(converted[0]).provenance["keras_version"] == "2.4.0"
    out = tmp_path / "pred.nc"
    args = ["predict", "--models", str(tmp_path / "pt"), "--out", str(out)]
    args += ["--data", str(shared_data / "cnn_lstm_era" / "mini"), "--start", "2011-06-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    pred = xr.load_dataset(out)
    assert pred.sizes == {"member": 2, "time": 214, "station": 226}
    assert pd.Timestamp(pred.time.values[-1]) == pd.Timestamp("2011-12-31")
    # NSE written by the verb equals NSE recomputed from the written arrays
    obs, mean = pred["observed"].values, pred["ensemble_mean"].values
    expected = 1 - ((mean - obs) ** 2).sum(0) / ((obs - obs.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(pred["nse_ensemble"].values, expected, atol=1e-4)
    assert 0.4 < float(np.median(expected)) < 0.9
    # the suite of the ensemble mean: scale-invariant metrics only (normalised flows, no
    # normaliser given), and the printed medians are those of the written scores
    np.testing.assert_allclose(
        pred["skill_nse"].values, pred["nse_ensemble"].values, rtol=1e-4, atol=1e-5
    )
    assert {"skill_r", "skill_alpha_nse", "skill_peak_timing", "skill_missed_peaks"} <= set(pred)
    assert "skill_kge" not in pred and "skill_fhv" not in pred
    line = next(x for x in result.output.splitlines() if x.startswith("r "))
    assert float(line.split()[1]) == pytest.approx(float(pred["skill_r"].median()), rel=1e-3)


def test_predict_user_errors(shared_data, models_dir, tmp_path):
    runner = CliRunner()
    mini = str(shared_data / "cnn_lstm_era" / "mini")
    base = ["predict", "--models", str(models_dir), "--data", mini, "--out", str(tmp_path / "p")]
    result = runner.invoke(app, [*base, "--ensemble", "fine"])
    assert result.exit_code != 0 and "needs --clusters" in str(result.exception)


def test_spatial_pool_model_keeps_location_and_round_trips(tmp_path):
    torch.manual_seed(4)
    arch = Architecture(n_out=3, conv_filters=(4, 6), conv_kernels=(1, 3), pool_after=0)
    pooled = CNNLSTM(arch.model_copy(update={"spatial_pool": (2, 4)}))
    assert pooled.n_features == 6 * 2 * 4 and pooled.lstm.input_size == 48
    back = load_model(save_model(pooled, tmp_path / "p.pt"))
    assert back.arch.spatial_pool == (2, 4)
    x = torch.randn(2, 15, 12, 32, 3)
    with torch.inference_mode():
        torch.testing.assert_close(back(x), pooled.eval()(x), atol=0, rtol=0)
        # the same weather moved across the grid (away from the borders) changes only the
        # location-keeping features; the published global max-pool cannot tell the two apart
        day = torch.zeros(1, 12, 32, 3)
        day[0, 4, 6] = 5.0
        moved = torch.roll(day, shifts=(2, 20), dims=(1, 2))
        glob = CNNLSTM(arch)
        glob.cnn.load_state_dict(pooled.cnn.state_dict())
        torch.testing.assert_close(glob.encode_days(day), glob.encode_days(moved))
        assert not torch.allclose(pooled.encode_days(day), pooled.encode_days(moved))
