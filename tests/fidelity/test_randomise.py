"""Cascading model-parameter randomisation and the flag it raises (Adebayo et al. 2018)."""

from __future__ import annotations

import pytest
import torch

from hydrointerp.errors import DataError
from hydrointerp.fidelity.bundle import Bundle
from hydrointerp.fidelity.map_scores import score_heat_map
from hydrointerp.fidelity.randomise import CASCADE, randomised

from .conftest import untrained_network

BLOCK_PREFIX = {"head": ("head.",), "lstm": ("lstm.", "day_proj."), "cnn": ("cnn.",)}


@pytest.mark.parametrize("level", list(CASCADE))
def test_each_level_reinitialises_exactly_its_blocks(level) -> None:
    net = untrained_network(5, 3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = randomised(net, level, seed=9)
    changed = {k for k, v in out.state_dict().items() if not torch.equal(v, before[k])}
    wanted = tuple(p for block in CASCADE[level] for p in BLOCK_PREFIX[block])
    weights = {k for k in before if k.startswith(wanted) and "bias" not in k}
    assert weights <= changed
    assert all(k.startswith(wanted) for k in changed)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # untouched
    again = randomised(net, level, seed=9).state_dict()
    assert all(torch.equal(v, again[k]) for k, v in out.state_dict().items())  # seeded


def test_unknown_level_and_non_network_are_refused() -> None:
    with pytest.raises(DataError, match="level"):
        randomised(untrained_network(2, 0), "random_everything")
    with pytest.raises(DataError, match="CNN-LSTM"):
        randomised(object(), "random_head")


def _bundle(model, random_all, sim_a, fid_region, ceiling=None) -> Bundle:  # noqa: ANN001
    controls = {"random_all": random_all}
    if ceiling is not None:
        controls["simulator_b"] = ceiling
    return Bundle("heat_map", {"perturbation": model}, sim_a, controls, None, fid_region, None, 300)


def test_randomisation_check_flags_an_untrained_network(
    sim_a, untrained_a, untrained_b, fid_region
) -> None:
    rows = score_heat_map(_bundle(untrained_a, untrained_b, sim_a, fid_region))
    main = [
        r
        for r in rows
        if r.experiment == "heat_map" and r.method == "perturbation" and r.truth == "simulator"
    ]
    assert main and all("randomisation_not_dropped" in r.as_dict()["flag"] for r in main)


def test_faithful_explainer_passes_the_randomisation_check(
    sim_a, sim_b, sim_c, untrained_a, fid_region
) -> None:
    rows = score_heat_map(_bundle(sim_b, untrained_a, sim_a, fid_region, sim_c))
    main = [
        r
        for r in rows
        if r.experiment == "heat_map"
        and r.method == "perturbation"
        and r.truth in ("simulator", "basin")
    ]
    assert len(main) == 5
    for r in main:
        assert "randomisation_not_dropped" not in r.as_dict()["flag"], r
        assert r.skill_low > 0, r  # and beats every trivial explainer, interval above 0
