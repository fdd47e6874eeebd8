"""Same numbers across the Experiment API redesign (issue 14).

``tests/data/golden/golden.yaml`` runs every experiment, its simulator truth, two fidelity controls
and the fidelity table on a tiny virtual region (about 30 s). Its outputs, written by the code
*before* the redesign (commit ff7088d), are saved compressed in ``tests/data/golden/outputs``
(the perturbation experiments' files and ``fidelity.csv`` re-saved once since, by issue 19:
every target day and pass draws its masks from a stream of its own, so the masks changed;
``decoding.nc`` and ``fidelity.csv`` once more by issue 17, for Experiment 4's new condition
variables and rows, the existing ones unchanged);
this test reruns the config with today's code and compares every data variable and coordinate
to 1e-6 (relative and absolute), and every number of ``fidelity.csv``.

To re-save the reference (only when a change of numbers is intended and explained in the
commit): ``python tests/pipeline/test_same_numbers.py RUN_DIR`` after
``hydrointerp run tests/data/golden/golden.yaml --out RUN_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.pipeline.study import run_study

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
SAVED = GOLDEN / "outputs"
TOL = 1e-6


def _numbers(ds: xr.Dataset) -> xr.Dataset:
    """Data variables and coordinates only (attributes record settings, versions, times)."""
    out = ds.copy()
    out.attrs = {}
    for name in out.variables:
        out[name].attrs = {}
        out[name].encoding = {}
    return out


def save_reference(run_dir: Path) -> None:
    """Write the compressed reference outputs of one run of ``golden.yaml``."""
    for f in sorted((run_dir / "experiments").rglob("*.nc")):
        rel = f.relative_to(run_dir)
        dest = SAVED / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        with xr.open_dataset(f, engine="h5netcdf") as ds:
            ds = _numbers(ds.load())
        enc = {
            v: {"zlib": True, "complevel": 9} for v in ds.data_vars if ds[v].dtype.kind in "fiub"
        }
        ds.to_netcdf(dest, engine="h5netcdf", encoding=enc)
    (SAVED / "fidelity.csv").write_text((run_dir / "fidelity.csv").read_text())


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> Path:

    out = tmp_path_factory.mktemp("golden")
    run_study(GOLDEN / "golden.yaml", out=out)
    return out


def _saved_files() -> list[Path]:
    return sorted(p.relative_to(SAVED) for p in SAVED.rglob("*.nc"))


def test_reference_covers_every_experiment_and_truth() -> None:
    names = {p.name for p in _saved_files()}
    for stem in (
        "heat_map",
        "sensitivity_daily",
        "channel_importance",
        "warming",
        "august",
        "drivers",
        "cell_states",
        "decoding",
    ):
        assert f"{stem}.nc" in names
    assert (SAVED / "experiments/simulator/heat_map.nc").is_file()
    assert (SAVED / "experiments/controls/random_all/heat_map.nc").is_file()


@pytest.mark.parametrize("rel", _saved_files(), ids=str)
def test_experiment_outputs_unchanged(golden_run: Path, rel: Path) -> None:
    new_path = golden_run / rel
    assert new_path.is_file(), f"{rel} was not written by today's code"
    with (
        xr.open_dataset(SAVED / rel, engine="h5netcdf") as old,
        xr.open_dataset(new_path, engine="h5netcdf") as new,
    ):
        old, new = _numbers(old.load()), _numbers(new.load())
    assert sorted(old.data_vars) == sorted(new.data_vars)
    assert sorted(old.coords) == sorted(new.coords)
    xr.testing.assert_allclose(new, old, rtol=TOL, atol=TOL)


def test_fidelity_table_unchanged(golden_run: Path) -> None:
    old = pd.read_csv(SAVED / "fidelity.csv")
    new = pd.read_csv(golden_run / "fidelity.csv")
    keys = ["experiment", "method", "metric", "truth"]
    old, new = (
        old.sort_values(keys).reset_index(drop=True),
        new.sort_values(keys).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(new[keys], old[keys])
    num = old.select_dtypes("number").columns
    np.testing.assert_allclose(
        new[num].to_numpy(float), old[num].to_numpy(float), rtol=TOL, atol=TOL, equal_nan=True
    )
    assert (new["flag"].fillna("") == old["flag"].fillna("")).all()


if __name__ == "__main__":
    save_reference(Path(sys.argv[1]))
