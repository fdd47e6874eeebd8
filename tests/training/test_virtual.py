"""End to end on a small virtual region: `hydrointerp train` learns and fine-tunes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.data.windows import Normaliser
from hydrointerp.models.saved import load_model

CONFIG = {
    "name": "small",
    "data": "virtual",
    "virtual": {"n_years": 4, "n_lat": 6, "n_lon": 8, "n_stations": 8},
    "windows": {"lookback": 60},
    "model": {
        "conv_filters": [8, 8, 16],
        "conv_kernels": [1, 3, 3],
        "pool_after": 1,
        "lstm_units": 24,
    },
    "train": {
        "learning_rate": 3e-3,
        "max_epochs": 5,
        "patience": 3,
        "batch_size": 32,
        "progress": False,
    },
    "ensemble": {"members": 1},
    "finetune": {
        "enabled": True,
        "n_clusters": 2,
        "train": {"learning_rate": 1e-3, "max_epochs": 1, "batch_size": 32, "progress": False},
    },
}


def test_train_verb_on_small_virtual_region(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(run)])
    assert res.exit_code == 0, res.output
    assert "median test NSE" in res.output
    summary = pd.read_csv(run / "summary.csv", index_col=0)
    assert summary.loc["bulk", "median_nse"] > 0.0
    assert summary.loc["fine", "n_stations"] == 8
    log = pd.read_csv(run / "train_log_member_0.csv")
    assert log["val_loss"].min() < log["val_loss"].iloc[0]
    model = load_model(run / "models" / "member_0.pt")
    assert model.arch.n_out == 8 and model.provenance["seed"] == 0
    clusters = pd.read_csv(run / "clusters.csv")
    sizes = [len(list((run / "models").glob(f"fine_0_cluster_{k}.pt"))) for k in range(2)]
    assert sizes == [1, 1] and sorted(clusters["cluster"].unique()) == [0, 1]
    fine = load_model(run / "models" / "fine_0_cluster_0.pt")
    assert fine.arch.n_out == int((clusters["cluster"] == 0).sum())
    # every CNN/LSTM weight moved during fine-tuning (nothing frozen)
    assert not np.allclose(fine.lstm.weight_hh_l0.detach(), model.lstm.weight_hh_l0.detach())
    norm = Normaliser.load(run / "normaliser.nc")
    assert norm.flow_mean.sizes["station"] == 8 and not norm.identity
    assert (run / "figures" / "nse_boxplots.png").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["windows"]["test_years"]


def test_train_verb_rejects_unknown_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("data: virtual\ntrain: {epochs: 3}\n")
    res = CliRunner().invoke(app, ["train", str(cfg)])
    assert res.exit_code != 0
    assert "epochs" in str(res.exception)
