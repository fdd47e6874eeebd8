"""The attribution benchmark: grades as studies of their own, their tables stacked, findings
read from the skill intervals, and the report section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydrointerp.config import parse_config
from hydrointerp.errors import ConfigError
from hydrointerp.fidelity import benchmark as fb
from hydrointerp.pipeline import run_study
from hydrointerp.pipeline.benchmark import grade_config


def _values(tiny_config) -> dict:
    values = tiny_config.model_dump(mode="json", by_alias=True)
    values["name"] = "tinybench"
    values["fidelity"]["methods"] = ["saliency"]
    values["benchmark"] = {
        "grades": [
            {"name": "bulk1", "ensemble": "bulk"},
            {"name": "fine2", "training": {"max_epochs": 2}, "members": 1},
        ]
    }
    return values


@pytest.fixture(scope="module")
def bench(tmp_path_factory, tiny_config):
    cfg = parse_config(_values(tiny_config), "test")
    out = tmp_path_factory.mktemp("bench") / "run"
    log = run_study(cfg, out=out, workers=1)
    return cfg, out, log


def test_each_grade_is_a_complete_study_with_its_own_recipe(bench) -> None:
    cfg, out, log = bench
    assert list(log["stages"]) == ["grade.bulk1", "grade.fine2", "benchmark", "report"]
    bulk, fine = (out / "grades" / g for g in ("bulk1", "fine2"))
    for folder in (bulk, fine):
        for name in ("region.nc", "skill.csv", "fidelity.csv", "report.html"):
            assert (folder / name).is_file(), folder / name
    # the bulk grade fine-tunes nothing; the fine grade has one member, fine-tuned per cluster
    assert not list((bulk / "models").glob("*fine*"))
    assert sorted(p.name for p in (fine / "models").glob("*.pt")) == [
        "model_bulk_0.pt",
        "model_fine_0_cluster_0.pt",
        "model_fine_0_cluster_1.pt",
    ]
    sub = grade_config(cfg, cfg.benchmark.grades[1])
    assert sub.ensemble.training["max_epochs"] == 2 and sub.ensemble.members == 1
    assert sub.ensemble.seeds == [0] and sub.experiments.ensemble == "fine"
    assert not sub.benchmark.grades


def test_benchmark_table_stacks_the_grades_fidelity_with_their_skill(bench) -> None:
    cfg, out, _ = bench
    table = fb.read_benchmark(out)
    for g, kind in (("bulk1", "bulk"), ("fine2", "fine")):
        own = pd.read_csv(
            out / "grades" / g / "fidelity.csv", keep_default_na=False, na_values=[""]
        )
        rows = table[table["grade"] == g]
        assert len(rows) == len(own)
        np.testing.assert_array_equal(rows["skill"].to_numpy(), own["skill"].to_numpy())
        skill = pd.read_csv(out / "grades" / g / "skill.csv")
        assert rows["median_nse"].iloc[0] == pytest.approx(float(skill[f"nse_{kind}"].median()))
        assert set(rows["ensemble"]) == {kind}
    # both methods of the heat map are in the table, for both grades
    heat = fb.scored(table)
    heat = heat[heat["experiment"] == "heat_map"]
    assert set(heat["method"]) == {"perturbation", "saliency"}
    assert (out / "figures" / "benchmark_skill_vs_nse.png").stat().st_size > 10_000
    assert (out / "figures" / "benchmark_methods.png").is_file()


def test_benchmark_report_has_the_trust_section_and_links_every_grade(bench) -> None:
    _, out, _ = bench
    page = (out / "report.html").read_text()
    assert "Which interpretations can you trust?" in page
    assert "grades/bulk1/report.html" in page and "grades/fine2/report.html" in page
    assert "Experiment 4" in page and "data:image/png;base64" in page


def test_a_finished_benchmark_resumes_without_recomputing(bench) -> None:
    cfg, out, _ = bench
    log = run_study(cfg, out=out, workers=1)
    assert {v["status"] for v in log["stages"].values()} == {"skipped"}


def test_grade_errors_name_the_grade(tiny_config) -> None:
    values = _values(tiny_config)
    values["benchmark"]["grades"][1]["name"] = "bulk1"
    with pytest.raises(ConfigError, match="'bulk1' is used twice"):
        parse_config(values, "test")
    values = _values(tiny_config)
    values["benchmark"]["grades"][0]["training"] = {"max_epoch": 3}
    with pytest.raises(ConfigError, match=r"benchmark\.grades\.0\.training"):
        parse_config(values, "test")
    values = _values(tiny_config)
    values["benchmark"]["grades"][0]["region"] = {"glacier_max_fraction": 2.0}
    with pytest.raises(ConfigError, match=r"benchmark\.grades\.0\.region"):
        parse_config(values, "test")
    values = _values(tiny_config)
    values["benchmark"]["grades"][1]["methods"] = ["saliency", "salency"]
    with pytest.raises(ConfigError, match=r"'salency' in 'benchmark\.grades\.1\.methods'"):
        parse_config(values, "test")
    values = _values(tiny_config)
    values["benchmark"]["grades"][1]["experiments"] = ["daily"]
    with pytest.raises(ConfigError, match=r"'daily', which is not in experiments\.run"):
        parse_config(values, "test")


def test_a_grade_may_run_fewer_experiments_and_methods(tiny_config) -> None:
    values = _values(tiny_config)
    values["experiments"]["run"] = ["heat_map", "cell_states"]
    values["benchmark"]["grades"][1].update(experiments=["cell_states"], methods=[])
    cfg = parse_config(values, "test")
    sub = grade_config(cfg, cfg.benchmark.grades[1])
    assert sub.experiments.run == ["cell_states"] and sub.fidelity.methods == []
    assert sub.fidelity.cascade == [] and sub.fidelity.method_experiments == []
    full = grade_config(cfg, cfg.benchmark.grades[0])
    assert full.experiments.run == ["heat_map", "cell_states"]
    assert full.fidelity.methods == ["saliency"]


# ------------------------------------------------------------------------------ findings
def _row(grade, nse, method, skill, lo, hi, flag="", exp="heat_map", condition=""):
    return {
        "grade": grade,
        "median_nse": nse,
        "condition": condition,
        "experiment": exp,
        "method": method,
        "metric": "support_spearman",
        "truth": "simulator",
        "skill": skill,
        "skill_low": lo,
        "skill_high": hi,
        "flag": flag,
    }


def test_findings_read_the_intervals_not_the_point_values() -> None:
    table = pd.DataFrame(
        [
            _row("poor", 0.3, "perturbation", 0.05, -0.10, 0.20),
            _row("poor", 0.3, "saliency", 0.10, 0.02, 0.18),
            _row("good", 0.8, "perturbation", 0.50, 0.30, 0.70),
            _row("good", 0.8, "saliency", 0.12, 0.05, 0.20, flag="randomisation_not_dropped"),
            _row("glacier", 0.9, "perturbation", -0.2, -0.5, 0.1, condition='{"x": 1}'),
            _row("good", 0.8, "perturbation:random_all", np.nan, np.nan, np.nan),
        ]
    )
    bw = fb.best_and_worst(table).set_index("grade")
    assert bw.loc["good", "best"] == "perturbation" and bw.loc["good", "worst"] == "saliency"
    assert bw.loc["poor", "best"] == "saliency" and bool(bw.loc["poor", "best_passes"])
    assert bw.loc["good", "worst_flag"] == "randomisation_not_dropped"
    trend = fb.skill_vs_nse(table).set_index("method")
    # the region condition is not a rung of the quality ladder
    assert trend.loc["perturbation", "trend"] == "rises"
    assert trend.loc["saliency", "trend"] == "no clear change"
    verdict = fb.trust(table).set_index("grade")
    assert verdict.loc["poor", "verdict"] == "usable"  # saliency's interval is above 0
    assert verdict.loc["glacier", "verdict"] == "cannot be trusted"
    assert verdict.loc["good", "passing"] == "1 of 2"  # the flagged row does not pass
