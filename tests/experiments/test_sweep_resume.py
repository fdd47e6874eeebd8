"""A killed Experiment 1/2 sweep resumes from its last pass and gives bit-identical maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydrointerp.experiments.daily_sweep import make_daily_heat
from hydrointerp.experiments.perturbation import Perturbation


class _Killed(Exception):
    pass


class ToyEngine:
    """Responses that depend on the masks and the day, so every pass changes the running mean.

    ``kill_after`` raises on that call of ``day_responses`` (a run killed mid-sweep).
    """

    n_members = 1
    start = None

    def __init__(self, kill_after: int | None = None) -> None:
        self.frames = torch.zeros(40, 4, 5, 3)
        self.n_stations = 2
        self.calls = 0
        self.kill_after = kill_after

    def for_members(self, lo: int, hi: int) -> ToyEngine:  # noqa: ARG002
        return self

    def day_responses(self, targets, masks, channels):  # noqa: ANN001, ANN201, ARG002
        self.calls += 1
        if self.kill_after is not None and self.calls > self.kill_after:
            raise _Killed
        c = torch.from_numpy(masks.centres).double()  # [G, M, 2]
        day = torch.as_tensor(np.asarray(targets), dtype=torch.float64)[:, None]
        per_mask = torch.sin(c[..., 0] + 3 * c[..., 1] + day).abs()  # [T, M]
        scale = torch.arange(1, self.n_stations + 1, dtype=torch.float64)
        return (per_mask[:, None, :, None] * scale).float()  # [T, 1, M, S]


SETTINGS = Perturbation(iters_one_pass=3, iters_total=15, tol=0.05, seed=4)
TARGETS = np.arange(20, 32)


def test_killed_sweep_resumes_bit_identical(tmp_path) -> None:
    want, used_want = make_daily_heat(ToyEngine(), TARGETS, SETTINGS, progress=False)
    assert used_want.max() > 2 * SETTINGS.iters_one_pass  # the sweep needs several passes
    ckpt = tmp_path / "daily.pt"
    with pytest.raises(_Killed):
        make_daily_heat(ToyEngine(kill_after=2), TARGETS, SETTINGS, False, checkpoint=ckpt)
    assert ckpt.is_file()
    resumed_engine = ToyEngine()
    got, used = make_daily_heat(resumed_engine, TARGETS, SETTINGS, False, checkpoint=ckpt)
    assert torch.equal(got, want)
    np.testing.assert_array_equal(used, used_want)
    full = ToyEngine()
    make_daily_heat(full, TARGETS, SETTINGS, progress=False)
    assert resumed_engine.calls == full.calls - 2  # the two saved passes were not redone
    assert not ckpt.exists()  # removed once the sweep finished


def test_checkpoint_of_another_sweep_is_ignored(tmp_path) -> None:
    ckpt = tmp_path / "daily.pt"
    with pytest.raises(_Killed):
        make_daily_heat(ToyEngine(kill_after=1), TARGETS, SETTINGS, False, checkpoint=ckpt)
    other = Perturbation(iters_one_pass=3, iters_total=15, tol=0.05, seed=5)
    want, _ = make_daily_heat(ToyEngine(), TARGETS, other, progress=False)
    got, _ = make_daily_heat(ToyEngine(), TARGETS, other, False, checkpoint=ckpt)
    assert torch.equal(got, want)
