"""The run config is checked against the data before the first expensive stage (training)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hydrointerp.config import CONFIG_DIR


def _config(tmp_path: Path, **changes: object) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    for dotted, value in changes.items():
        node = raw
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (
            {"train": [2000, 2000], "val": [2001, 2001], "test": [2002, 2001]},
            "error: windows.split.test is reversed; expected: [first year, last year] with"
            " first <= last; found: [2002, 2001]",
        ),
        (
            {"train": [2000, 2001], "val": [2001, 2001], "test": [2002, 2002]},
            "error: windows.split.train and windows.split.val overlap, so val skill would be"
            " computed on train years; expected: separate years; found: train [2000, 2001],"
            " val [2001, 2001] share 2001-2001",
        ),
    ],
)
def test_split_errors_before_anything_runs(tmp_path, run_main, split, message) -> None:
    run = tmp_path / "run"
    code, err = run_main(["run", _config(tmp_path, windows__split=split), "--out", run])
    assert code == 2
    assert _one_line(err) == message
    assert not run.exists()  # nothing started


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"windows__split": {"train": [2000, 2000], "val": [2001, 2001], "test": [2030, 2030]}},
            "windows.split.test lies outside the data in {region}; expected: years within"
            " 1999-2002; found: [2030, 2030]",
        ),
        (
            {"data__region__n_years": 1, "windows__split": {}},
            "the default train split and the default val split overlap, so val skill would be"
            " computed on train years (give windows.split explicitly); expected: separate years;"
            " found: train [2000, 2000], val [2000, 2000] share 2000-2000",
        ),
        (
            {"ensemble__fine_tune__n_clusters": 7},
            "ensemble.fine_tune.n_clusters is larger than the number of stations in {region};"
            " expected: at most 6; found: 7",
        ),
    ],
)
def test_config_against_the_data_before_training(tmp_path, run_main, changes, message) -> None:
    run = tmp_path / "run"
    code, err = run_main(["run", _config(tmp_path, **changes), "--out", run])
    assert code == 2
    assert _one_line(err) == "error: " + message.format(region=run / "region.nc")
    assert (run / "region.nc").is_file()  # the data stage ran (it is needed for the check)
    assert not (run / "normaliser.nc").exists() and not (run / "models").exists()
    assert not list(run.rglob("*.tmp"))


def test_explicit_shared_folder_must_exist(tmp_path, run_main, monkeypatch) -> None:
    nope = tmp_path / "nope"
    run = tmp_path / "run"
    code, err = run_main(["run", "tiny", "--shared", nope, "--out", run])
    assert code == 2
    assert _one_line(err) == (
        f"error: shared data folder not found; --shared: {nope}; expected: an existing folder"
        " holding data/cnn_lstm_era; found: no such folder"
    )
    monkeypatch.setenv("HYDROINTERP_SHARED", str(nope))
    code, err = run_main(["run", "tiny", "--out", run])
    assert code == 2
    assert _one_line(err).startswith(
        f"error: shared data folder not found; HYDROINTERP_SHARED: {nope};"
    )
    nope.mkdir()
    (nope / "data").mkdir()
    code, err = run_main(["run", "tiny", "--shared", nope, "--out", run])
    assert code == 2 and "not a shared data folder" in _one_line(err) and "['data']" in err
    assert not run.exists()
