"""Run configs: built-ins load by name, unknown keys are errors naming the key's path."""

from __future__ import annotations

import pytest

from hydrointerp.config import BUILTIN, load_config, parse_config
from hydrointerp.errors import ConfigError
from hydrointerp.pipeline.runner import downstream_of
from hydrointerp.pipeline.study import build_stages


@pytest.mark.parametrize("name", [*BUILTIN, "region_template"])
def test_builtin_configs_load_by_name(name: str) -> None:
    cfg = load_config(name)
    assert cfg.name
    stages = [st.name for st in build_stages(cfg)]
    if cfg.benchmark.grades:  # a benchmark: a study per grade, then the table and the report
        grades = [f"grade.{g.name}" for g in cfg.benchmark.grades]
        assert stages == [*grades, "benchmark", "report"]
        return
    assert stages[:3] == ["data", "windows", "clusters"]
    assert stages[-1] == "report"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"ensemble": {"fine_tune": {"n_clustrs": 3}}}, "ensemble.fine_tune.n_clustrs"),
        ({"windows": {"look_back": 30}}, "windows.look_back"),
        ({"data": {"source": "virtual", "region": {"n_yers": 2}}}, "data.region.n_yers"),
        ({"ensemble": {"training": {"epochs": 2}}}, "ensemble.training.epochs"),
        ({"reprot": {}}, "reprot"),
    ],
)
def test_unknown_key_names_its_path(values: dict, key: str) -> None:
    base = {"name": "x", "data": {"source": "virtual"}}
    merged = {**base, **values}
    with pytest.raises(ConfigError, match=f"unknown key '{key}'"):
        parse_config(merged, "test.yaml")


def test_unknown_experiment_setting_is_an_error() -> None:
    # a typo anywhere in an experiment's settings, nested blocks too, fails when the config is
    # read, naming the key path, before anything runs
    for settings, key in (
        ({"iters_totl": 5}, "experiments.settings.heat_map.iters_totl"),
        ({"perturbation": {"sigm": 2}}, "experiments.settings.heat_map.perturbation.sigm"),
    ):
        values = {
            "name": "x",
            "data": {"source": "virtual"},
            "experiments": {"run": ["heat_map"], "settings": {"heat_map": settings}},
        }
        with pytest.raises(ConfigError, match=f"unknown key '{key}'"):
            parse_config(values, "run.yaml")
    bad = {"perturbation": {"mask_mode": "sometimes"}}
    values["experiments"]["settings"]["heat_map"] = bad
    with pytest.raises(ConfigError, match="perturbation.mask_mode': Input should be 'shared' or"):
        parse_config(values, "run.yaml")


def test_unknown_experiment_name_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown experiment 'heatmap'"):
        parse_config(
            {"name": "x", "data": {"source": "virtual"}, "experiments": {"run": ["heatmap"]}}
        )


def test_force_selects_the_stage_and_everything_downstream(tiny_config) -> None:
    stages = build_stages(tiny_config)
    names = [st.name for st in stages]
    assert downstream_of(stages, ["finetune"]) == set(names[names.index("finetune") :])
    # clusters feeds fine-tuning and the figures, but not the bulk ensemble
    hit = downstream_of(stages, ["clusters"])
    assert "ensemble" not in hit and {"clusters", "finetune", "skill", "report"} <= hit
    assert downstream_of(stages, ["experiment"]) >= {"experiment.heat_map", "fidelity", "report"}
    with pytest.raises(ConfigError, match="unknown stage 'trian'"):
        downstream_of(stages, ["trian"])


def test_run_device_is_checked_when_the_config_is_read() -> None:
    with pytest.raises(ConfigError, match="not a torch device"):
        parse_config({"name": "x", "device": "gpu0", "data": {"source": "virtual"}})
    assert (
        parse_config({"name": "x", "device": "cpu", "data": {"source": "virtual"}}).device == "cpu"
    )


@pytest.mark.parametrize("key", ["cascade", "control_experiments"])
def test_unknown_experiment_in_the_fidelity_section_is_an_error(key: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown experiment in 'fidelity.{key}' 'heatmap'"):
        parse_config({"name": "x", "data": {"source": "virtual"}, "fidelity": {key: ["heatmap"]}})


def test_unknown_fidelity_control_is_an_error() -> None:
    with pytest.raises(ConfigError, match="fidelity.controls"):
        parse_config({"name": "x", "data": {"source": "virtual"}, "fidelity": {"controls": ["x"]}})
