"""``experiments.output_format: zarr``: large results as Zarr stores, read lazily by the fidelity
stage and the report, with the numbers of the NetCDF run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.atomic import atomic_dir
from hydrointerp.config import load_config
from hydrointerp.experiments.output import find_result, open_experiment
from hydrointerp.pipeline import run_study


def _tiny(fmt: str):  # noqa: ANN202
    cfg = load_config("tiny")
    experiments = cfg.experiments.model_copy(update={"output_format": fmt})
    fidelity = cfg.fidelity.model_copy(update={"controls": ["simulator_b", "random_all"]})
    return cfg.model_copy(update={"experiments": experiments, "fidelity": fidelity})


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("formats")
    run_study(_tiny("netcdf"), out=root / "netcdf")
    run_study(_tiny("zarr"), out=root / "zarr")
    return root / "netcdf", root / "zarr"


def test_zarr_run_writes_stores_with_the_same_numbers(both_runs) -> None:
    nc_run, zarr_run = both_runs
    stores = sorted(p.relative_to(zarr_run) for p in zarr_run.glob("experiments/**/*.zarr"))
    files = sorted(p.relative_to(nc_run) for p in nc_run.glob("experiments/**/*.nc"))
    assert [p.with_suffix("") for p in stores] == [p.with_suffix("") for p in files]
    assert len(stores) >= 4 and not list(zarr_run.glob("experiments/**/*.nc"))
    for rel in files:
        with (
            open_experiment(nc_run / rel) as a,
            open_experiment(zarr_run / rel.with_suffix(".zarr")) as b,
        ):
            assert b["sensitivity"].chunks is not None  # lazy: dask arrays, read on demand
            xr.testing.assert_allclose(b.load(), a.load(), rtol=0, atol=0)
            assert b.attrs["Conventions"] == "CF-1.8" and b.attrs["settings_hash"]
    # the fidelity stage read the stores: the same table to the last digit
    a = pd.read_csv(nc_run / "fidelity.csv")
    b = pd.read_csv(zarr_run / "fidelity.csv")
    num = a.select_dtypes("number").columns
    np.testing.assert_array_equal(b[num].to_numpy(float), a[num].to_numpy(float))
    # and the report found them
    assert "experiments/heat_map.nc is missing" not in (zarr_run / "report.html").read_text()


def test_a_finished_zarr_run_resumes_without_rework(both_runs) -> None:
    _, zarr_run = both_runs
    log = run_study(_tiny("zarr"), out=zarr_run)
    assert all(s["status"] == "skipped" for s in log["stages"].values()), log["stages"]


def test_a_store_is_replaced_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "x.zarr"
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_zarr(target)
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        xr.Dataset({"a": ("t", np.zeros(3))}).to_zarr(tmp, mode="w")
        raise RuntimeError("killed mid-write")
    np.testing.assert_array_equal(xr.open_zarr(target)["a"].values, np.arange(3.0))
    with atomic_dir(target) as tmp:
        xr.Dataset({"a": ("t", np.ones(3))}).to_zarr(tmp, mode="w")
    np.testing.assert_array_equal(xr.open_zarr(target)["a"].values, np.ones(3))
    assert find_result(tmp_path / "x") == target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.zarr"]  # no temporary left
