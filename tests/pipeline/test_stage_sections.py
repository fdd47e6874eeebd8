"""Stage definitions: the config sections they fingerprint must exist; runs stop at a target."""

from __future__ import annotations

import pytest

from hydrointerp.config import BUILTIN, load_config
from hydrointerp.errors import ConfigError
from hydrointerp.pipeline.runner import Stage, is_config_section, stages_until
from hydrointerp.pipeline.study import MODELS_DONE, build_stages


def _nothing(ctx):  # noqa: ANN001, ANN202 - a stage body that is never run
    return {}


@pytest.mark.parametrize(
    ("section", "known"),
    [
        ("windows", True),
        ("windows.split.test", True),
        ("ensemble.import.n_clusters", True),  # the alias the config file and fingerprint use
        ("ensemble.import_.n_clusters", False),  # the attribute name is not in the dump
        ("ensemble.fine_tune.n_clusters", True),
        ("ensemble.training.learning_rate", True),  # below a free-form mapping
        ("experiments.settings.daily", True),
        ("data.region", True),  # a field of one member of the data union
        ("data.regoin", False),
        ("window", False),
        ("windows.lookback.days", False),  # below a plain value
        ("ensemble.fine_tune.n_cluster", False),
    ],
)
def test_config_sections_are_recognised(section: str, known: bool) -> None:
    assert is_config_section(section) is known


def test_a_misspelt_section_is_an_error_when_the_stage_is_defined() -> None:
    with pytest.raises(ValueError, match="stage clusters: 'ensemble.fine_tune.n_cluster' is not"):
        Stage("clusters", _nothing, lambda ctx: [], sections=("ensemble.fine_tune.n_cluster",))
    with pytest.raises(ValueError, match="'window' is not a section"):
        Stage("windows", _nothing, lambda ctx: [], sections=("window",))


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_stage_list_names_real_sections(name: str) -> None:
    stages = build_stages(load_config(name))  # defining a stage checks its sections
    assert all(is_config_section(s) for st in stages for s in st.sections)


def test_stages_until_keeps_the_target_and_what_it_reads() -> None:
    stages = build_stages(load_config("tiny"))
    names = [st.name for st in stages_until(stages, MODELS_DONE)]
    assert names == ["data", "windows", "clusters", "ensemble", "finetune", "skill"]
    # the bulk ensemble does not read the clusters
    assert [st.name for st in stages_until(stages, "ensemble")] == ["data", "windows", "ensemble"]
    group = [st.name for st in stages_until(stages, "experiment")]
    assert group[-1] == "experiment.heat_map" and "fidelity" not in group
    with pytest.raises(ConfigError, match="--until: unknown stage 'skil'"):
        stages_until(stages, "skil")
