"""`hydrointerp fidelity RUN_DIR` on a folder laid out like a run's."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.fidelity.skill import COLUMNS


def test_fidelity_verb_scores_a_run_folder(tmp_path, sim_a, sim_b, sim_c, fid_region) -> None:
    exp = tmp_path / "experiments"
    for ds, rel in (
        (sim_b, "heat_map.nc"),
        (sim_a, "simulator/heat_map.nc"),
        (sim_c, "controls/simulator_b/heat_map.nc"),
    ):
        (exp / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.to_netcdf(exp / rel, engine="h5netcdf")
    fid_region.to_netcdf(tmp_path / "region.nc", engine="h5netcdf")
    result = CliRunner().invoke(app, ["fidelity", str(tmp_path), "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "fidelity.csv")
    assert list(table.columns) == [*COLUMNS, "verdict"]
    net = table[(table.experiment == "heat_map") & (table.method == "perturbation")]
    net = net.set_index(["truth", "metric"])
    # per-regime rows of the same scores come too
    assert table.experiment.str.startswith("heat_map[").any()
    # an independent simulator run as the "network": faithful, skill interval above 0
    assert net.loc[("simulator", "support_spearman"), "skill_low"] > 0
    assert "noise_ceiling" in set(table.method)
    assert (tmp_path / "fidelity.nc").is_file()
    assert (tmp_path / "figures" / "fidelity.png").is_file()
