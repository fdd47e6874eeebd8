"""The fast engine equals the plain per-window forward on the same perturbations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.engine import PerturbationEngine
from hydrointerp.experiments.masks import draw_masks, gaussian_bumps

TARGETS = np.array([400, 402])  # 2011-02-05 and 2011-02-07 of the mini year


@pytest.mark.parametrize("shared_masks", [True, False], ids=["shared", "per_day"])
def test_fast_equals_reference_on_published_model(coastal_model, mini_frames, shared_masks) -> None:
    masks = draw_masks(
        np.random.default_rng(3), 1 if shared_masks else len(TARGETS), 4, (12, 32), pass_size=2
    )
    fast = PerturbationEngine(coastal_model, mini_frames, 365, mask_chunk=2)
    ref = PerturbationEngine(coastal_model, mini_frames, 365, reference=True)
    got = fast.weighted_response(TARGETS, masks, reduce="member")
    want = ref.weighted_response(TARGETS, masks, reduce="member")
    assert got.shape == (2, 12, 12, 32)
    assert float(want.abs().max()) > 1e-3  # the perturbations do move the outputs
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)
    # the unperturbed baseline is the model's own prediction
    base = fast.baseline(TARGETS)[0]
    direct = coastal_model(torch.as_tensor(mini_frames[None, 35:400]))[0]
    np.testing.assert_allclose(base[0].numpy(), direct.detach().numpy(), atol=1e-5)


def test_shared_masks_change_every_window_the_same_way(coastal_model, mini_frames) -> None:
    masks = draw_masks(np.random.default_rng(0), 1, 2, (12, 32))
    eng = PerturbationEngine(coastal_model, mini_frames, 365)
    x = eng.perturbed(masks, 0, slice(0, 2), channels=(0, 2))
    delta = (x - torch.as_tensor(mini_frames)[None]).numpy()
    w = masks.weights[0] * masks.signs[0][:, None, None]
    np.testing.assert_allclose(delta[:, 17, :, :, 0], w, atol=1e-6)
    np.testing.assert_allclose(delta[:, 500, :, :, 2], w, atol=1e-6)
    assert np.all(delta[..., 1] == 0)  # channel 1 left alone


def test_masks_are_seeded_gaussians_with_one_sign_per_pass() -> None:
    a = draw_masks(np.random.default_rng(7), 2, 6, (12, 32), sigma=1.5, pass_size=3)
    b = draw_masks(np.random.default_rng(7), 2, 6, (12, 32), sigma=1.5, pass_size=3)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.weights.shape == (2, 6, 12, 32)
    for g in range(2):
        for block in (slice(0, 3), slice(3, 6)):
            assert len(set(a.signs[g, block].tolist())) == 1
    r, c = a.centres[0, 0]
    assert a.weights[0, 0, r, c] == pytest.approx(1.0)
    if c + 1 < 32:
        assert a.weights[0, 0, r, c + 1] == pytest.approx(np.exp(-1 / 4.5), rel=1e-6)
    one = gaussian_bumps(np.array([[5, 5]]), (12, 32), truncate=0.5)[0]
    assert one.sum() == pytest.approx(1.0) and one[5, 5] == 1.0


def test_per_day_masks_need_one_group_per_target(coastal_model, mini_frames) -> None:
    masks = draw_masks(np.random.default_rng(0), len(TARGETS) + 1, 2, (12, 32))
    eng = PerturbationEngine(coastal_model, mini_frames, 365)
    with pytest.raises(ConfigError):
        eng.weighted_response(TARGETS, masks)
