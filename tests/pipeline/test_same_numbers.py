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

Stage versions: a run directory recomputes a stage only when its fingerprint changes, and code
that changes a stage's numbers changes the fingerprint only through the stage's ``version``. So
the reference records, for each saved file, the stage that writes it and that stage's version
(``stage_versions.json``); the test fails when today's versions differ from the recorded ones
(re-save after a bump), and re-saving refuses a file whose numbers changed while its stage's
version did not (bump it first: old run directories would keep the old numbers).
"""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.config import load_config
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.pipeline.study import build_stages, run_study

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
SAVED = GOLDEN / "outputs"
VERSIONS = GOLDEN / "stage_versions.json"
TOL = 1e-6


def _numbers(ds: xr.Dataset) -> xr.Dataset:
    """Data variables and coordinates only (attributes record settings, versions, times)."""
    out = ds.copy()
    out.attrs = {}
    for name in out.variables:
        out[name].attrs = {}
        out[name].encoding = {}
    return out


def stage_versions(run_dir: Path) -> dict[str, list]:
    """``{file: [stage, version]}``: the stage of today's code that writes each output of the
    golden run ``run_dir`` (its declared outputs, paths relative to ``run_dir``), and that
    stage's version."""
    cfg = load_config(GOLDEN / "golden.yaml")
    ctx = RunContext(cfg, run_dir, None, None)
    return {
        Path(path).relative_to(run_dir).as_posix(): [stage.name, stage.version]
        for stage in build_stages(cfg)
        for path in stage.outputs(ctx)
    }


def same_numbers(old: xr.Dataset, new: xr.Dataset) -> bool:
    """True when two outputs hold the same variables and numbers (to ``TOL``)."""
    old, new = _numbers(old), _numbers(new)
    if sorted(old.variables) != sorted(new.variables):
        return False
    try:
        xr.testing.assert_allclose(new, old, rtol=TOL, atol=TOL)
    except AssertionError:
        return False
    return True


def save_reference(run_dir: Path) -> None:
    """Write the compressed reference outputs of one run of ``golden.yaml`` and the versions
    of the stages that wrote them; refuse a changed file whose stage version was not bumped."""
    versions = stage_versions(run_dir)
    recorded = json.loads(VERSIONS.read_text()) if VERSIONS.is_file() else {}
    files = sorted((run_dir / "experiments").rglob("*.nc"))
    unbumped = []
    for f in files:
        rel = f.relative_to(run_dir).as_posix()
        if rel not in versions:
            raise SystemExit(f"{rel}: no stage of the golden config lists it among its outputs")
        if (SAVED / rel).is_file() and recorded.get(rel) == versions[rel]:
            with (
                xr.open_dataset(SAVED / rel, engine="h5netcdf") as old,
                xr.open_dataset(f, engine="h5netcdf") as new,
            ):
                if not same_numbers(old.load(), new.load()):
                    unbumped.append(f"{rel} (stage {versions[rel][0]}, version {versions[rel][1]})")
    if unbumped:
        raise SystemExit(
            "numbers changed but the stage version did not; bump it (run directories would keep"
            " the old numbers) before re-saving: " + ", ".join(unbumped)
        )
    for f in files:
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
    kept = {f.relative_to(run_dir).as_posix() for f in files} | {"fidelity.csv"}
    write_versions({k: v for k, v in versions.items() if k in kept})


def write_versions(versions: dict[str, list]) -> None:
    """``stage_versions.json``, one saved file per line."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(versions.items())]
    VERSIONS.write_text("{\n" + ",\n".join(lines) + "\n}\n")


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


def test_stage_versions_are_the_reference_ones(golden_run: Path) -> None:
    """Every saved file's stage has the version the reference was saved with: a bumped stage
    needs its reference re-saved, and re-saving checks the bump (:func:`save_reference`)."""
    recorded = json.loads(VERSIONS.read_text())
    saved = [p.as_posix() for p in _saved_files()] + ["fidelity.csv"]
    assert sorted(recorded) == sorted(saved)
    current = stage_versions(golden_run)
    changed = {f: (recorded[f], current.get(f)) for f in saved if current.get(f) != recorded[f]}
    assert not changed, f"stage versions differ from the reference's (re-save it): {changed}"


def test_resaving_refuses_changed_numbers_without_a_version_bump(
    golden_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heat map whose numbers changed is not re-saved while its stage's version is the
    recorded one; once the recorded version is an older one (the code bumped it), it is, and
    the new version is recorded."""
    run = tmp_path / "run"
    shutil.copytree(golden_run, run)
    saved, versions = tmp_path / "outputs", tmp_path / "stage_versions.json"
    shutil.copytree(SAVED, saved)
    shutil.copy(VERSIONS, versions)
    monkeypatch.setattr(sys.modules[__name__], "SAVED", saved)
    monkeypatch.setattr(sys.modules[__name__], "VERSIONS", versions)
    heat = run / "experiments" / "heat_map.nc"
    with xr.open_dataset(heat, engine="h5netcdf") as ds:
        changed = ds.load()
    changed["sensitivity"] = changed["sensitivity"] * 1.01
    heat.unlink()
    changed.to_netcdf(heat, engine="h5netcdf")
    with pytest.raises(SystemExit, match=r"experiments/heat_map.nc \(stage experiment.heat_map"):
        save_reference(run)
    assert filecmp.cmp(saved / "experiments/heat_map.nc", SAVED / "experiments/heat_map.nc")
    recorded = json.loads(versions.read_text())
    stage, version = recorded["experiments/heat_map.nc"]
    recorded["experiments/heat_map.nc"] = [stage, version - 1]  # saved before a bump
    versions.write_text(json.dumps(recorded))
    save_reference(run)
    with xr.open_dataset(saved / "experiments/heat_map.nc", engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["sensitivity"].values, changed["sensitivity"].values)
    assert json.loads(versions.read_text())["experiments/heat_map.nc"] == [stage, version]


def test_a_missing_further_result_reruns_its_stage(golden_run: Path, tmp_path: Path) -> None:
    """``decoding.nc`` (a further result of Experiment 4 on a region with truth) is one of the
    stage's artefacts: deleted, it makes ``experiment.cell_states`` run again and comes back
    with the same numbers, while the other experiments are skipped. (Here because the golden
    run is the one run of the suite with glaciers and Experiment 4.)"""
    run = tmp_path / "run"
    shutil.copytree(golden_run, run)
    (run / "experiments" / "decoding.nc").unlink()
    log = run_study(GOLDEN / "golden.yaml", out=run)
    status = {name: st["status"] for name, st in log["stages"].items()}
    assert status["experiment.cell_states"] == "ran"
    assert status["experiment.heat_map"] == status["experiment.daily"] == "skipped"
    with (
        xr.open_dataset(golden_run / "experiments/decoding.nc", engine="h5netcdf") as old,
        xr.open_dataset(run / "experiments/decoding.nc", engine="h5netcdf") as new,
    ):
        assert same_numbers(old.load(), new.load())


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
