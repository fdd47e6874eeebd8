"""The fidelity verb on a run folder, and its error for a folder with nothing to score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.errors import DataError


def test_fidelity_verb_writes_table_netcdf_and_figure(tmp_path) -> None:
    rng = np.random.default_rng(0)
    t = pd.date_range("2001-01-01", periods=365)
    groups = ["Glacial", "Nival", "Pluvial"]
    truth = xr.Dataset(
        {
            "s_temperature": (("time", "group"), rng.random((365, 3))),
            "s_precipitation": (("time", "group"), rng.random((365, 3))),
        },
        coords={"time": t, "group": groups},
    )
    (tmp_path / "experiments" / "simulator").mkdir(parents=True)
    truth.to_netcdf(
        tmp_path / "experiments" / "simulator" / "channel_importance.nc", engine="h5netcdf"
    )
    model = truth.copy()
    model["s_precipitation"] = -truth["s_precipitation"]
    model.to_netcdf(tmp_path / "experiments" / "channel_importance.nc", engine="h5netcdf")
    result = CliRunner().invoke(app, ["fidelity", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "fidelity.csv")
    assert list(table.columns) == ["experiment", "method", "metric", "value"]
    net = table[table.method == "perturbation"].set_index("metric")["value"]
    assert net["S_T_correlation_Glacial"] == pytest.approx(1.0)
    assert net["S_P_correlation_Pluvial"] == pytest.approx(-1.0)
    assert (tmp_path / "fidelity.nc").is_file() and (
        tmp_path / "figures" / "fidelity.png"
    ).is_file()


def test_fidelity_verb_on_empty_folder_is_a_user_error(tmp_path) -> None:
    result = CliRunner().invoke(app, ["fidelity", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
    assert "nothing to score" in str(result.exception)


def test_cell_states_verb_on_mini_writes_and_resumes(shared, tmp_path) -> None:
    models = str(shared / "data" / "cnn_lstm_era" / "models")
    args = [
        "experiment",
        "cell-states",
        "--models",
        models,
        "--data",
        str(shared),
        "--out",
        str(tmp_path),
        "--members",
        "2",
        "--published-shift",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ds = xr.load_dataset(tmp_path / "experiments" / "cell_states.nc", engine="h5netcdf")
    assert ds["cell_state"].dims == ("member", "unit", "time") and ds.sizes["member"] == 2
    assert ds.attrs["n_selected_units"] == int(ds["selected"].sum()) > 5
    assert ds.attrs["setting_cluster"] == 0 and ds.attrs["window_last_day"] == "2011-12-30"
    assert (tmp_path / "figures" / "cell_state_panels.png").is_file()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "skipping" in again.output
