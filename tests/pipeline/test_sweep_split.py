"""The experiment stage splits the heat map's sweeps into member x day-block tasks on Dask
workers (inputs read from the run directory) and writes the serial run's numbers exactly."""

from __future__ import annotations

from tests_pipeline_helpers import compare_outputs, copy_run

from hydrointerp.pipeline.study import run_study


def test_one_day_blocks_on_two_workers_give_the_serial_numbers(
    tiny_run, tmp_path, tiny_config
) -> None:  # noqa: ANN001
    serial, _ = tiny_run
    run = copy_run(serial, tmp_path / "blocks")
    exps = tiny_config.experiments.model_copy(update={"task_block_days": 1})
    cfg = tiny_config.model_copy(update={"experiments": exps})
    log = run_study(cfg, out=run, workers=2, force=["experiment"])
    stage = log["stages"]["experiment.heat_map"]
    assert stage["status"] == "ran"
    runs = {r["target"]: r for r in stage["info"]["runs"]}
    tasks = runs["model"]["sweep_tasks"]
    n_days = 6  # tiny: 30 target days, every 5th
    assert tasks["block_days"] == 1 and tasks["rounds"] == 2  # two passes of 4 masks
    assert tasks["tasks"] == 2 * n_days and tasks["peak_rss_mb"] > 100
    assert "sweep_tasks" in runs["simulator"]
    files = ["experiments/heat_map.nc", "experiments/simulator/heat_map.nc"]
    compare_outputs(serial, run, files)  # exactly: rtol = atol = 0
    assert (run / "fidelity.csv").read_text() == (serial / "fidelity.csv").read_text()
