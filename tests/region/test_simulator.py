"""The process model reused on any weather: simulate, states, and the SimulatorPredictor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from hydrointerp.data.virtual import simulate, state_at
from hydrointerp.data.virtual_predictor import SimulatorPredictor
from hydrointerp.errors import DataError
from hydrointerp.predictor import Predictor

LOOKBACK = 120


def test_simulate_reproduces_the_region(small_region: xr.Dataset) -> None:
    out = simulate(small_region, small_region["weather"].values)
    assert out.shape == small_region["flow_component"].shape
    np.testing.assert_array_equal(out.astype(np.float32), small_region["flow_component"].values)


def test_simulate_batches_leading_axes(small_region: xr.Dataset) -> None:
    w = small_region["weather"].values[:400]
    warm = w.copy()
    warm[..., :2] += 3.0
    batch = simulate(small_region, np.stack([w, warm]))
    np.testing.assert_allclose(batch[0], simulate(small_region, w), rtol=1e-12)
    np.testing.assert_allclose(batch[1], simulate(small_region, warm), rtol=1e-12)
    glacial = small_region["regime"].values == "glacial"
    melt = batch[..., glacial, 2].sum(axis=(1, 2))
    assert melt[1] > 1.2 * melt[0]  # warmer summers melt more ice


def test_state_at_restarts_the_run_exactly(small_region: xr.Dataset) -> None:
    day = 500
    start = state_at(small_region, day)
    assert start.swe.shape == start.fast.shape[:-2] + start.fast.shape[-1:]
    again = state_at(small_region, str(small_region["time"].values[day])[:10])
    np.testing.assert_array_equal(start.slow, again.slow)
    rest = simulate(small_region, small_region["weather"].values[day:], initial_state=start)
    np.testing.assert_allclose(
        rest, small_region["flow_component"].values[day:], rtol=1e-6, atol=1e-6
    )


def _predictor(region: xr.Dataset, **kwargs: object) -> SimulatorPredictor:
    return SimulatorPredictor.from_region(region, lookback=LOOKBACK, **kwargs)


def _frames(pred: SimulatorPredictor, region: xr.Dataset) -> np.ndarray:
    return pred.normalise_weather(region["weather"].values)[None]


def test_predictor_reproduces_region_flow(small_region: xr.Dataset) -> None:
    pred = _predictor(small_region)
    assert isinstance(pred, Predictor)
    assert pred.station_ids == tuple(small_region["station"].values)
    frames = _frames(pred, small_region)
    targets = np.array([LOOKBACK, 200, 365, 700, frames.shape[1]])
    out = pred.predict_block(torch.from_numpy(frames), targets)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 5, 8)
    flow = small_region["flow"].values.astype(np.float64)
    expect = np.vstack([flow[targets[:-1]], _drain_after_record(small_region)])
    z = (expect - pred.flow_mean) / pred.flow_std
    np.testing.assert_allclose(out.numpy()[0], z, atol=2e-5)
    comp = pred.component_predict_block(frames, targets).numpy()
    np.testing.assert_allclose(
        comp[0, :-1], small_region["flow_component"].values[targets[:-1]], rtol=1e-4, atol=1e-3
    )
    np.testing.assert_allclose(
        (comp.sum(-1) - pred.flow_mean) / pred.flow_std, out.numpy(), atol=1e-4
    )


def _drain_after_record(region: xr.Dataset) -> np.ndarray:
    """Flow on the day after the record: the final state drains one day."""
    n = region.sizes["time"]
    end = state_at(region, n)
    any_day = region["weather"].values[:1]  # day 0's flow is pure drainage of the state
    return simulate(region, any_day, initial_state=end)[0].sum(-1)


def test_day_t_itself_is_outside_the_information_set(small_region: xr.Dataset) -> None:
    pred = _predictor(small_region)
    frames = _frames(pred, small_region)
    t = 400
    hit = frames.copy()
    hit[0, t] += 3.0  # the target day's own weather
    hit[0, t - LOOKBACK - 1] += 3.0  # and the day before its window
    both = np.concatenate([frames, hit])
    out = pred.predict_block(both, [t]).numpy()
    np.testing.assert_array_equal(out[0], out[1])
    hit[0, t - 1] += 3.0  # the last window day does matter
    out = pred.predict_block(np.concatenate([frames, hit]), [t]).numpy()
    assert np.abs(out[0] - out[1]).max() > 1e-3


def test_perturbing_outside_a_basin_changes_nothing_there(default_region: xr.Dataset) -> None:
    pred = SimulatorPredictor.from_region(default_region, lookback=365)
    frames = _frames(pred, default_region)
    mask = default_region["basin_mask"].values
    targets = np.arange(800, 1300, 60)
    for s in (0, 59):
        outside = np.argwhere((mask[s] == 0) & (mask.sum(axis=0) > 0))
        hit = frames.copy()
        for i, j in outside[:: max(1, len(outside) // 40)]:
            hit[0, :, i, j, :] += np.float32(2.0)
        out = pred.predict_block(np.concatenate([frames, hit]), targets).numpy()
        assert np.array_equal(out[0, :, s], out[1, :, s])
        assert np.abs(out[0] - out[1]).max() > 1e-2  # other stations did respond
        inside = np.argwhere(mask[s] > 0)[0]
        hit = frames.copy()
        hit[0, :, inside[0], inside[1], :] += np.float32(2.0)
        out = pred.predict_block(np.concatenate([frames, hit]), targets).numpy()
        assert np.abs(out[0, :, s] - out[1, :, s]).max() > 1e-3


def test_continuous_mode_matches_unperturbed_and_sees_earlier_days(
    small_region: xr.Dataset,
) -> None:
    window = _predictor(small_region)
    cont = _predictor(small_region, mode="continuous")
    frames = _frames(window, small_region)
    targets = np.arange(300, 420, 7)
    np.testing.assert_allclose(
        cont.predict_block(frames, targets).numpy(),
        window.predict_block(frames, targets).numpy(),
        atol=1e-6,
    )
    hit = frames.copy()
    hit[0, 300 - LOOKBACK + 2] += 4.0  # inside the first window only
    t = [300, targets[-1]]  # the block runs from the first target's window start
    w_out = window.predict_block(np.concatenate([frames, hit]), t).numpy()[:, 1]
    c_out = cont.predict_block(np.concatenate([frames, hit]), t).numpy()[:, 1]
    np.testing.assert_array_equal(w_out[0], w_out[1])
    assert np.abs(c_out[0] - c_out[1]).max() > 1e-4


def test_block_start_aligns_a_shorter_block(small_region: xr.Dataset) -> None:
    pred = _predictor(small_region)
    frames = _frames(pred, small_region)
    offset = 200
    day = small_region["time"].values[offset]
    full = pred.predict_block(frames, [offset + 300]).numpy()
    part = pred.predict_block(frames[:, offset:], [300], block_start=day).numpy()
    np.testing.assert_array_equal(full, part)
    spun = _predictor(small_region, block_start=None).predict_block(frames, [offset + 300])
    assert spun.shape == full.shape and np.isfinite(spun.numpy()).all()


def test_bad_targets_and_frames_raise(small_region: xr.Dataset) -> None:
    pred = _predictor(small_region)
    frames = _frames(pred, small_region)
    with pytest.raises(DataError, match="target outside the frames"):
        pred.predict_block(frames, [LOOKBACK - 1])
    with pytest.raises(DataError, match=r"\[P, D, H, W, C\]"):
        pred.predict_block(frames[0], [LOOKBACK])
    with pytest.raises(DataError, match="unknown simulator mode"):
        _predictor(small_region, mode="fast")


@pytest.mark.parametrize("mode", ["window", "continuous"])
def test_sharing_identical_cells_is_exact(small_region: xr.Dataset, mode: str) -> None:
    shared = _predictor(small_region, mode=mode)
    brute = _predictor(small_region, mode=mode, share_identical=False)
    frames = _frames(shared, small_region)[:, :500]
    batch = np.repeat(frames, 4, axis=0)
    rows, cols = np.nonzero(small_region["basin_mask"].values.sum(axis=0) > 0)
    batch[1, :, rows[0], cols[0], 0] += 2.0  # one cell warmer
    batch[2, 200:260, rows[-1], cols[-1], 2] += 1.5  # a wet spell in another
    batch[3, :, :, :, 1] -= 1.0  # everything colder at night
    targets = [LOOKBACK, 250, 333, 499]
    a = shared.component_predict_block(batch, targets).numpy()
    b = brute.component_predict_block(batch, targets).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[1], a[0]) and not np.array_equal(a[3], a[0])
