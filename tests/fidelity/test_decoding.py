"""Experiment 4 with controls: warm-started cell states and cross-validated melt decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.experiments.lstm_states import record_cell_states
from hydrointerp.fidelity.decoding import _cv_r2, yearly_states
from hydrointerp.fidelity.scorers import Bundle, score_decoding

from .conftest import untrained_network


def test_cross_validated_r2_credits_only_real_information() -> None:
    rng = np.random.default_rng(0)
    years = np.repeat(np.arange(4), 365)
    season = np.sin(2 * np.pi * np.arange(years.size) / 365.25)
    extra = rng.standard_normal(years.size)
    y = season + 0.5 * extra
    ctrl = season[:, None]
    base = _cv_r2(ctrl, y, years)
    informative = _cv_r2(
        np.hstack([ctrl, extra[:, None] + 0.1 * rng.standard_normal((y.size, 1))]), y, years
    )
    noise = _cv_r2(np.hstack([ctrl, rng.standard_normal((y.size, 5))]), y, years)
    assert base.shape == (4,) and np.all((base > 0.6) & (base < 0.9))
    assert np.all(informative - base > 0.15)
    assert np.all(np.abs(noise - base) < 0.01)  # noise units add nothing out of sample


def test_yearly_states_come_from_warm_started_windows(fid_inputs) -> None:
    net = untrained_network(fid_inputs.stations.sizes["station"], 5)
    frames = fid_inputs.frames
    lb = 60
    states = yearly_states([net], frames, lb)
    time = pd.DatetimeIndex(frames["time"].values)
    first = time.get_loc(pd.Timestamp(states["time"].values[0]))
    assert first >= lb  # no state of a window's zero-started first steps
    n = states.sizes["time"]
    direct = record_cell_states(net, frames.values[first - lb : first + n])[lb:]
    np.testing.assert_allclose(states.isel(member=0).values.T, direct, atol=1e-5)
    changed = frames.copy(data=frames.values.copy())
    changed.values[: first - lb] += 5.0  # weather before the window cannot matter
    again = yearly_states([net], changed, lb)
    np.testing.assert_allclose(again.values, states.values, atol=1e-6)


def _decoding(delta_selected: float) -> xr.Dataset:
    rng = np.random.default_rng(1)
    years = np.arange(2000, 2010)
    sets = ["selected", "all_units", "random_units", "untrained"]
    delta = np.vstack(
        [
            delta_selected + 0.01 * rng.standard_normal(10),
            0.1 + 0.01 * rng.standard_normal(10),
            0.01 * rng.standard_normal(10),
            0.01 * rng.standard_normal(10),
        ]
    )
    return xr.Dataset(
        {"r2_controls": ("year", np.full(10, 0.6)), "delta_r2": (("unit_set", "year"), delta)},
        coords={"unit_set": sets, "year": years},
    )


@pytest.mark.parametrize(("selected", "passes"), [(0.2, True), (0.0, False)])
def test_decoding_scores_against_random_and_untrained_units(selected, passes) -> None:
    b = Bundle("decoding", {"perturbation": _decoding(selected)}, None, n_boot=300)
    rows = {r.method: r for r in score_decoding(b)}
    sel = rows["selected"]
    assert sel.ceiling == pytest.approx(0.4)
    assert sel.baseline_name in {"controls_only", "random_units", "untrained"}
    assert (sel.skill_low > 0) is passes
    assert ("no_skill" in sel.as_dict()["flag"]) is not passes
    assert {"reference:random_units", "reference:untrained", "reference:controls"} <= set(rows)
