"""Experiment 4 with controls: warm-started cell states and cross-validated melt decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydrointerp.experiments.lstm_states import record_cell_states
from hydrointerp.fidelity.bundle import Bundle
from hydrointerp.fidelity.decoding import _cv_r2, yearly_states
from hydrointerp.fidelity.state_scores import score_decoding

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


# ------------------------------------------------------------------------------ conditions
class _Head:
    """What the selection reads of a network: its head's weights ``[stations, units]``."""

    def __init__(self, weight: np.ndarray) -> None:
        import torch

        self.head = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))


def _planted(rng: np.random.Generator, g: np.ndarray, signal: bool):
    years = np.repeat(np.arange(5), 365)
    season = np.sin(2 * np.pi * np.arange(years.size) / 365.25)
    extra = rng.standard_normal(years.size)
    y = season + 0.5 * extra
    units = rng.standard_normal((years.size, 6))
    weight = rng.standard_normal((g.size, 6)) * 0.05
    if signal:
        units[:, 0] = extra + 0.1 * rng.standard_normal(years.size)
        weight[:, 0] += g  # unit 0's head weights follow glacier fraction
    return _Head(weight), units, season[:, None], y, years


@pytest.mark.parametrize("signal", [True, False])
def test_selection_by_number_of_glacial_gauges(signal) -> None:
    from hydrointerp.fidelity.decoding import _by_gauges

    rng = np.random.default_rng(2)
    g = np.array([0, 0, 0, 0, 0, 0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])  # 6 glacial of 12
    model, units, ctrl, y, years = _planted(rng, g, signal)
    ds = _by_gauges([model], g, units, ctrl, y, years, p_threshold=0.05, seed=0)
    assert ds["n_glacial_gauges"].values.tolist() == [1, 2, 4, 6]
    # a cluster of glacial gauges only: no selection from fewer than 4 gauges
    only, u6, c6, y6, yr6 = _planted(np.random.default_rng(5), g[6:], signal)
    few = _by_gauges([only], g[6:], u6, c6, y6, yr6, p_threshold=0.05, seed=0)
    assert few["n_glacial_gauges"].values.tolist() == [4, 6]
    gain = ds["delta_r2_gauges"].mean("year")
    # all gauges: one draw (the others are empty), fewer gauges: five random draws each
    assert np.isfinite(gain.sel(n_glacial_gauges=6)).sum() == 1
    assert np.isfinite(gain.sel(n_glacial_gauges=2)).all()
    full = float(gain.sel(n_glacial_gauges=6).isel(gauge_draw=0))
    rand = ds["delta_r2_gauges_random"].mean("year")
    np.testing.assert_array_equal(np.isfinite(rand), np.isfinite(gain))
    if signal:  # the planted unit is selected with every gauge and its melt is credited
        assert full > 0.15
        assert full > float(rand.sel(n_glacial_gauges=6).isel(gauge_draw=0)) + 0.1
        assert int(ds["n_selected_gauges"].sel(n_glacial_gauges=6)[0]) >= 1
    else:  # noise weights: whatever is selected adds nothing out of sample
        assert abs(full) < 0.02


def test_decoding_by_glacier_cover_credits_the_half_whose_melt_the_units_carry() -> None:
    from hydrointerp.data.virtual import generate_region
    from hydrointerp.data.virtual_config import VirtualRegionConfig
    from hydrointerp.fidelity.decoding import _by_cover, controls
    from hydrointerp.fidelity.truth import glacial_melt

    region = generate_region(
        VirtualRegionConfig(n_years=3, spinup_years=1, n_lat=8, n_lon=12, n_stations=10, seed=4)
    )
    g = region["glacier_fraction"].values
    high = g == g.max()
    assert (g > 0.01).sum() == 2  # one gauge per half
    time = pd.DatetimeIndex(region["time"].values)
    ok = np.ones(time.size, bool)
    years = time.year.to_numpy()
    rng = np.random.default_rng(3)
    melt = glacial_melt(region, 0.01, high).values
    ctrl = controls(region, time, 0.01, high)
    fit = np.linalg.lstsq(np.c_[ctrl, np.ones(time.size)], melt, rcond=None)[0]
    residual = melt - np.c_[ctrl, np.ones(time.size)] @ fit  # what the controls miss
    sets = {
        "selected": (residual + 0.05 * rng.standard_normal(time.size))[:, None],
        "random_units": rng.standard_normal((time.size, 1)),
    }
    ds = _by_cover(region, time, ok, years, sets)
    gain = ds["delta_r2_cover"].mean("year")
    assert float(ds["cover_glacier_fraction"].sel(cover="high")) == pytest.approx(g.max())
    # the controls explain most of the melt; the planted residual is credited on its half
    credited = float(gain.sel(cover="high", cover_unit_set="selected"))
    assert credited > 0.05
    assert credited > 5 * abs(float(gain.sel(cover="low", cover_unit_set="selected")))
    assert credited > 5 * abs(float(gain.sel(cover="high", cover_unit_set="random_units")))


def test_condition_rows_score_each_cover_half_and_gauge_count() -> None:
    ds = _decoding(0.0)
    years = ds["year"].values
    rng = np.random.default_rng(4)
    cover = np.zeros((2, 3, years.size))
    cover[1, 0] = 0.2 + 0.01 * rng.standard_normal(years.size)  # high cover: selection works
    cover[:, 2] = 0.01 * rng.standard_normal((2, years.size))
    gauges = np.full((3, 5, years.size), np.nan)
    gauges[0] = 0.01 * rng.standard_normal((5, years.size))  # 1 gauge: nothing
    gauges[1] = 0.01 * rng.standard_normal((5, years.size))
    gauges[2, 0] = 0.2 + 0.01 * rng.standard_normal(years.size)  # all 6 gauges, one draw
    ds = ds.assign(
        delta_r2_cover=(("cover", "cover_unit_set", "year"), cover),
        r2_controls_cover=(("cover", "year"), np.full((2, years.size), 0.5)),
        cover_glacier_fraction=("cover", [0.05, 0.5]),
        delta_r2_gauges=(("n_glacial_gauges", "gauge_draw", "year"), gauges),
        delta_r2_gauges_random=(
            ("n_glacial_gauges", "gauge_draw", "year"),
            np.where(np.isfinite(gauges), 0.01 * rng.standard_normal(gauges.shape), np.nan),
        ),
    ).assign_coords(
        cover=["low", "high"],
        cover_unit_set=["selected", "all_units", "random_units"],
        n_glacial_gauges=[1, 3, 6],
    )
    b = Bundle("decoding", {"perturbation": ds}, None, n_boot=300)
    rows = {(r.experiment, r.method): r for r in score_decoding(b)}
    high = rows["cell_states_decoding[high glacier cover, mean 0.50]", "selected"]
    low = rows["cell_states_decoding[low glacier cover, mean 0.05]", "selected"]
    assert high.skill_low > 0 and not low.skill_low > 0
    assert high.ceiling == pytest.approx(0.5)  # what the controls leave on the half's melt
    assert rows["cell_states_decoding[6 glacial gauges]", "selected"].skill_low > 0
    assert not rows["cell_states_decoding[1 glacial gauges]", "selected"].skill_low > 0
