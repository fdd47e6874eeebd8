"""Skill, intervals, ceilings and flags: exact properties and the reference levels."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hydrointerp.experiments.heat_map import run_masks
from hydrointerp.fidelity import explainers as ex
from hydrointerp.fidelity import metrics as mt
from hydrointerp.fidelity.scorers import Bundle, _truth_map, score_heat_map
from hydrointerp.fidelity.skill import skill_row, verdict

from .conftest import heat_run


def _per_unit(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims="station", coords={"station": np.arange(values.size)})


def test_skill_is_one_at_the_ceiling_and_zero_at_the_baseline() -> None:
    rng = np.random.default_rng(0)
    ceiling = _per_unit(0.9 + 0.01 * rng.standard_normal(40))
    base = _per_unit(0.2 + 0.01 * rng.standard_normal(40))
    at_ceiling = skill_row("x", "m", "r", "t", ceiling, {"b": base}, ceiling, "station")
    at_base = skill_row("x", "m", "r", "t", base, {"b": base}, ceiling, "station")
    assert at_ceiling.skill == pytest.approx(1.0) and at_base.skill == pytest.approx(0.0)
    assert at_ceiling.skill_low <= 1.0 <= at_ceiling.skill_high
    assert "no_skill" in at_base.as_dict()["flag"]


def test_lower_is_better_metrics_keep_the_sign_of_skill() -> None:
    good, bad, zero = (
        _per_unit(np.full(20, 1.0)),
        _per_unit(np.full(20, 3.0)),
        _per_unit(np.zeros(20)),
    )
    row = skill_row(
        "x", "m", "dist", "t", good, {"b": bad}, zero, "station", higher_is_better=False
    )
    assert row.skill == pytest.approx(2.0 / 3.0)
    assert row.baseline_name == "b"


def test_the_best_baseline_is_the_one_to_beat() -> None:
    m = _per_unit(np.full(10, 0.5))
    row = skill_row(
        "x",
        "m",
        "r",
        "t",
        m,
        {"weak": _per_unit(np.zeros(10)), "strong": _per_unit(np.full(10, 0.4))},
        _per_unit(np.ones(10)),
        "station",
    )
    assert row.baseline_name == "strong" and row.skill == pytest.approx(1 / 6)


def test_random_explainer_has_no_skill_over_random_on_the_same_masks(sim_a, sim_b) -> None:
    truth, maps = _truth_map(sim_a), sim_b["sensitivity"]
    masks = run_masks(sim_b)
    draws = [ex.same_mask_random(masks, maps, seed=s) for s in (11, 12)]
    scores = xr.concat([mt.support_spearman(d, truth) for d in draws], "draw")
    base = mt.support_spearman(ex.same_mask_random(masks, maps, seed=13), truth)
    ceiling = mt.support_spearman(maps, truth)
    row = skill_row(
        "heat_map",
        "random",
        "support_spearman",
        "simulator",
        scores,
        {"same_mask_random": base},
        ceiling,
        "station",
    )
    assert row.skill_low < 0.0 < row.skill_high
    assert "no_skill" in row.as_dict()["flag"] and "do not trust" in verdict(row.as_dict())


def test_exact_truth_scored_against_itself_has_skill_one(contribution, sim_a, fid_region) -> None:
    mag = contribution["contribution_magnitude"]
    model = xr.Dataset({"sensitivity": mag})
    b = Bundle("heat_map", {"perturbation": model}, None, {}, contribution, fid_region, None, 200)
    rows = [
        r for r in score_heat_map(b) if r.truth == "contribution" and r.experiment == "heat_map"
    ]
    assert {r.metric for r in rows} == {"support_pearson", "support_spearman"}
    for r in rows:
        assert r.value == pytest.approx(1.0) and r.skill == pytest.approx(1.0)


def test_noise_ceiling_of_the_simulator_at_the_documented_mask_count(fid_inputs, sim_a) -> None:
    """docs/fidelity.md: at >= 160 shared masks two independent simulator maps agree to a
    support Spearman of at least 0.98 (mean over stations); at 16 masks they do not."""
    a160, b160 = heat_run(fid_inputs, 21, 160), heat_run(fid_inputs, 22, 160)
    r160 = float(mt.support_spearman(_truth_map(b160), _truth_map(a160)).mean())
    a16, b16 = heat_run(fid_inputs, 31, 40), heat_run(fid_inputs, 32, 40)
    r40 = float(mt.support_spearman(_truth_map(b16), _truth_map(a16)).mean())
    assert r160 >= 0.98
    assert r40 < r160


def test_untrained_network_has_no_skill_over_another_untrained_one(
    sim_a, sim_c, untrained_a, untrained_b
) -> None:
    truth = _truth_map(sim_a)
    row = skill_row(
        "heat_map",
        "untrained",
        "support_spearman",
        "simulator",
        mt.support_spearman(untrained_a["sensitivity"], truth),
        {"untrained": mt.support_spearman(untrained_b["sensitivity"], truth)},
        mt.support_spearman(_truth_map(sim_c), truth),
        "station",
    )
    assert row.skill_low < 0.0 < row.skill_high and abs(row.skill) < 0.3
