"""The run's NetCDF outputs pass the IOOS compliance checker's CF-1.8 suite without errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.cf import DISCHARGE_STANDARD_NAME, write_cf

runner = pytest.importorskip("compliance_checker.runner")

EXPERIMENT_FILES = {
    "heat_map",
    "sensitivity_daily",
    "channel_importance",
    "drivers",
    "warming",
    "august",
    "cell_states",
    "probe",
    "decoding",
}


def cf_problems(path: Path) -> list[str]:
    """The checker's high-priority (error) messages and any check that raised, for one file."""
    suite = runner.CheckSuite()
    suite.load_all_available_checkers()
    ds = suite.load_dataset(str(path))
    results, raised = suite.run_all(ds, ["cf:1.8"], skip_checks=[])["cf:1.8"]
    scored = suite.build_structure("cf:1.8", results, str(path), 1)
    errors = [m for r in scored["high_priorities"] for m in r.msgs]
    return errors + [f"check raised: {name}" for name in raised]


@pytest.mark.slow
def test_predictions_skill_and_every_experiment_pass_cf(every_experiment_run) -> None:
    run = every_experiment_run
    files = [run / "predictions.nc", run / "skill.nc", *sorted(run.glob("experiments/**/*.nc"))]
    assert {p.stem for p in files if p.parent.name == "experiments"} == EXPERIMENT_FILES
    problems = {str(p.relative_to(run)): cf_problems(p) for p in files}
    assert problems and not any(problems.values()), problems
    with xr.open_dataset(run / "predictions.nc", engine="h5netcdf") as pred:
        assert pred.attrs["featureType"] == "timeSeries"
        assert pred["station_id"].attrs["cf_role"] == "timeseries_id"
        q = pred["observed_discharge"]
        assert q.attrs["standard_name"] == DISCHARGE_STANDARD_NAME and q.attrs["units"] == "m3 s-1"
        assert pred["station_lat"].attrs["standard_name"] == "latitude"
        # labels survive the character-array encoding
        assert [str(s) for s in pred["station"].values] == [
            str(s) for s in pred["station_id"].values
        ]


def test_a_broken_file_is_caught(tmp_path) -> None:
    """The checker (as called above) does report errors: a file with bad units and int64."""
    ds = xr.Dataset(
        {"q": (("time", "station"), np.ones((3, 2)), {"units": "cubic furlongs"})},
        coords={"time": np.arange(3), "station": ["a", "b"]},
    )
    path = tmp_path / "bad.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    assert cf_problems(path)
    # the same numbers written through write_cf, with real units, pass
    ds["q"].attrs["units"] = "m3 s-1"
    days = pd.date_range("2001-01-01", periods=3)
    good = write_cf(ds.assign_coords(time=days), tmp_path / "good.nc", "t")
    assert cf_problems(good) == []
