"""The exact contribution truth: additive, confined to the basin, consistent with the
simulator's own flow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydrointerp.errors import ConfigError, DataError
from hydrointerp.fidelity.truth import (
    baseline_frames,
    cell_contributions,
    channel_counterfactuals,
)


def _flow(inputs, frames) -> np.ndarray:  # noqa: ANN001
    start = pd.Timestamp(inputs.frames["time"].values[0])
    q = inputs.predictor.component_predict_block(frames[None], inputs.target_indices(), start)
    return q.numpy().sum(-1)[0]  # [T, station] m3/s


@pytest.mark.parametrize("baseline", ["climatology", "zero"])
def test_contributions_add_up_to_the_flow_anomaly(fid_inputs, fid_region, baseline) -> None:
    c = cell_contributions(fid_inputs, baseline)
    x = fid_inputs.frames.values.astype(np.float32)
    b = baseline_frames(fid_inputs.frames, baseline).values.astype(np.float32)
    anomaly = _flow(fid_inputs, x) - _flow(fid_inputs, b)
    total = c.sum(("lat", "lon")).transpose("time", "station").values
    np.testing.assert_allclose(total, anomaly, rtol=1e-4, atol=1e-3 * np.abs(anomaly).max())
    assert np.abs(anomaly).max() > 1.0  # a real anomaly, not a trivial zero
    basin = (fid_region["basin_mask"] > 0).transpose("station", "lat", "lon")
    assert float(abs(c.where(~basin, 0.0)).max()) == 0.0


def test_channel_counterfactual_is_the_flow_change_of_that_channel(fid_inputs) -> None:
    eff = channel_counterfactuals(fid_inputs)
    x = fid_inputs.frames.values.astype(np.float32)
    b = baseline_frames(fid_inputs.frames).values
    v = x.copy()
    v[..., 2] = b[..., 2]
    want = _flow(fid_inputs, x) - _flow(fid_inputs, v)
    got = eff.isel(channel=2).transpose("time", "station").values
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.abs(want).max())


def test_climatology_baseline_is_the_day_of_year_mean(fid_inputs) -> None:
    frames = fid_inputs.frames
    clim = baseline_frames(frames)
    doy = pd.DatetimeIndex(frames["time"].values).day_of_year
    day = np.flatnonzero(doy == 100)
    np.testing.assert_allclose(clim.values[day[0]], frames.values[day].mean(0), rtol=1e-5)
    with pytest.raises(ConfigError, match="baseline"):
        baseline_frames(frames, "median")


def test_contribution_truth_needs_the_simulator(fid_inputs) -> None:
    import dataclasses

    with pytest.raises(DataError, match="simulator"):
        cell_contributions(dataclasses.replace(fid_inputs, predictor=object()))
