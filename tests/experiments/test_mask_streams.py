"""A target day's masks come from its own stream: they do not depend on which other days are
drawn with it (the day blocks of a distributed run; the maps: test_sweep_tasks.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydrointerp.experiments.perturbation import Perturbation, day_keys, pass_masks

PER_DAY = Perturbation(iters_one_pass=2, iters_total=6, tol=0.05, mask_mode="per_day", seed=3)
START = pd.Timestamp("2010-01-01")  # frames[0] of the mini year


def test_a_days_masks_do_not_depend_on_the_other_days() -> None:
    keys = day_keys(START, [400, 402, 405])
    assert keys.tolist() == [START.toordinal() + d for d in (400, 402, 405)]
    assert day_keys(None, [4, 5]).tolist() == [4, 5]
    together = pass_masks(PER_DAY, 1, keys, (12, 32))
    alone = pass_masks(PER_DAY, 1, keys[1:2], (12, 32))
    assert together.weights.shape == (3, 2, 12, 32)
    np.testing.assert_array_equal(together.weights[1], alone.weights[0])
    np.testing.assert_array_equal(together.signs[1], alone.signs[0])
    other_pass = pass_masks(PER_DAY, 2, keys[1:2], (12, 32))
    assert not np.array_equal(other_pass.centres, alone.centres)
    assert not np.array_equal(together.centres[0], together.centres[1])


def test_shared_masks_are_one_stream_per_pass() -> None:
    shared = PER_DAY.model_copy(update={"mask_mode": "shared"})
    a = pass_masks(shared, 0, [1, 2, 3], (12, 32))
    b = pass_masks(shared, 0, [], (12, 32))
    assert a.shared and a.weights.shape == (1, 2, 12, 32)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(pass_masks(shared, 1, [], (12, 32)).centres, a.centres)
    assert not np.array_equal(pass_masks(shared.reseeded(1), 0, [], (12, 32)).centres, a.centres)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        Perturbation(seed=-1)
