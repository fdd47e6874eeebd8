"""End to end on a small virtual region: `hydrointerp train` learns and fine-tunes through the
pipeline's own stages, and `hydrointerp run` then finds the models where it looks for them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.data.windows import Normaliser
from hydrointerp.models.saved import load_model

CONFIG = {
    "name": "small",
    "data": {
        "source": "virtual",
        "region": {"n_years": 4, "n_lat": 6, "n_lon": 8, "n_stations": 8},
    },
    "windows": {"lookback": 60},
    "ensemble": {
        "members": 1,
        "model": {
            "conv_filters": [8, 8, 16],
            "conv_kernels": [1, 3, 3],
            "pool_after": 1,
            "lstm_units": 24,
        },
        "training": {"learning_rate": 3e-3, "max_epochs": 5, "patience": 3, "batch_size": 32},
        "fine_tune": {
            "enabled": True,
            "n_clusters": 2,
            "training": {"learning_rate": 1e-3, "max_epochs": 1, "batch_size": 32},
        },
    },
    "experiments": {"run": []},
    "report": {"enabled": False},
}


def test_train_verb_on_small_virtual_region(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(run)])
    assert res.exit_code == 0, res.output
    assert "bulk: median test NSE" in res.output and "fine: median test NSE" in res.output
    skill = pd.read_csv(run / "skill.csv", dtype={"station_id": str})
    assert skill["nse_bulk"].median() > 0.0
    assert skill["nse_fine"].notna().sum() == 8
    # the pipeline's stages ran, up to the skill stage and no further
    stages = sorted(p.stem for p in (run / ".stages").glob("*.json"))
    assert stages == ["clusters", "data", "ensemble", "finetune", "skill", "windows"]
    log = pd.read_csv(run / "train_log_model_bulk_0.csv")
    assert log["val_loss"].min() < log["val_loss"].iloc[0]
    model = load_model(run / "models" / "model_bulk_0.pt")
    assert model.arch.n_out == 8 and model.provenance["seed"] == 0
    clusters = pd.read_csv(run / "clusters.csv")
    sizes = [len(list((run / "models").glob(f"model_fine_0_cluster_{k}.pt"))) for k in range(2)]
    assert sizes == [1, 1] and sorted(clusters["cluster"].unique()) == [0, 1]
    fine = load_model(run / "models" / "model_fine_0_cluster_0.pt")
    assert fine.arch.n_out == int((clusters["cluster"] == 0).sum())
    # every CNN/LSTM weight moved during fine-tuning (nothing frozen)
    assert not np.allclose(fine.lstm.weight_hh_l0.detach(), model.lstm.weight_hh_l0.detach())
    norm = Normaliser.load(run / "normaliser.nc")
    assert norm.flow_mean.sizes["station"] == 8 and not norm.identity
    # the default split of a 2000-2003 record (after a 1999 spin-up): 60 / 20 / 20 %
    windows = json.loads((run / ".stages" / "windows.json").read_text())["info"]
    assert windows["split_years"] == {
        "train": [2000, 2001],
        "val": [2002, 2002],
        "test": [2003, 2003],
    }
    # `hydrointerp run` on the same config and folder reuses every model stage
    res = CliRunner().invoke(app, ["run", str(cfg), "--out", str(run)])
    assert res.exit_code == 0, res.output
    for name in ("data", "windows", "clusters", "ensemble", "finetune", "skill"):
        assert f"] {name}: up to date" in res.output, res.output
    assert "] figures: running" in res.output
    assert (run / "figures" / "nse_boxplots.png").is_file()
    assert (run / "figures" / "training_curves.png").stat().st_size > 10_000


def test_train_verb_rejects_unknown_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: bad\ndata: {source: virtual}\nensemble: {training: {epochs: 3}}\n")
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "run")])
    assert res.exit_code != 0
    assert "ensemble.training.epochs" in str(res.exception)
    assert not (tmp_path / "run").exists()  # refused before any stage ran
