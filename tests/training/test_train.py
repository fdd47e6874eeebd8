"""Training: shared-day batches equal the reference, masked loss, determinism, resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hydrointerp.errors import ConfigError
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.models.saved import load_model
from hydrointerp.training.batches import (
    batch_forward,
    epoch_batches,
    evaluate_loss,
    masked_mse,
    naive_forward,
    needed_days,
    predict_indices,
)
from hydrointerp.training.config import TrainSettings
from hydrointerp.training.train import build_model, train_member

FAST = dict(max_epochs=3, learning_rate=1e-3, progress=False, batch_size=32)


@pytest.mark.parametrize("sampler", ["blocks", "random"])
def test_epoch_batches_cover_every_window_once(sampler):
    idx = np.arange(100, 333)
    rng = np.random.default_rng(0)
    batches = epoch_batches(idx, 64, sampler, rng)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), idx)
    assert max(len(b) for b in batches) <= 64
    if sampler == "blocks":
        assert all(np.all(np.diff(b) == 1) for b in batches)
        again = epoch_batches(idx, 64, sampler, rng)
        assert [b[0] for b in again] != [b[0] for b in batches]


def test_shared_day_forward_equals_per_window_forward(windows, tiny_arch):
    model = build_model(tiny_arch, 1).eval()
    t = torch.from_numpy(windows.splits["train"][:40])
    fast = batch_forward(model, windows.frames, t, windows.lookback)
    slow = naive_forward(model, windows.frames, t, windows.lookback)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)
    # gradients agree too
    ga = torch.autograd.grad(
        masked_mse(batch_forward(model, windows.frames, t, 20), windows.targets[t])[0],
        list(model.parameters()),
    )
    gb = torch.autograd.grad(
        masked_mse(naive_forward(model, windows.frames, t, 20), windows.targets[t])[0],
        list(model.parameters()),
    )
    for a, b in zip(ga, gb, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_evaluation_encodes_each_day_once_and_equals_per_window(windows, tiny_arch):
    """predict_indices / evaluate_loss (shared days, window LSTM) equal model(x) per window."""
    model = build_model(tiny_arch, 2).eval()
    val = windows.splits["val"]
    idx = np.concatenate([val[40:7:-3], val[:5], windows.splits["train"][:3]])  # any order, gaps
    got = predict_indices(model, windows.frames, idx, windows.lookback, batch_size=7)
    with torch.no_grad():
        want = naive_forward(model, windows.frames, torch.from_numpy(idx), windows.lookback)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    days = needed_days(idx, windows.lookback, len(windows.frames))
    covered = np.unique(idx[:, None] - windows.lookback + np.arange(windows.lookback))
    np.testing.assert_array_equal(days, covered)
    targets = windows.targets.clone()
    targets[torch.from_numpy(idx[:4])] = float("nan")  # missing targets are left out
    keep = torch.from_numpy(idx)
    sq = (want - targets[keep]) ** 2
    expected = float(sq[~torch.isnan(sq)].mean())
    loss = evaluate_loss(model, windows.frames, targets, idx, windows.lookback)
    assert loss == pytest.approx(expected, rel=1e-5)


def test_masked_loss_gaps_do_not_change_gradients(windows, tiny_arch):
    model = build_model(tiny_arch, 2).eval()
    t = torch.from_numpy(windows.splits["train"][:32])
    target = windows.targets[t].clone()
    gaps = torch.rand(target.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    gapped = target.masked_fill(gaps, float("nan"))
    pred = batch_forward(model, windows.frames, t, windows.lookback)
    loss, n = masked_mse(pred, gapped)
    assert n == int((~gaps).sum())
    grads = torch.autograd.grad(loss, list(model.parameters()))
    # reference: the plain MSE on the non-missing subset only
    pred2 = batch_forward(model, windows.frames, t, windows.lookback)
    ref = ((pred2[~gaps] - target[~gaps]) ** 2).mean()
    ref_grads = torch.autograd.grad(ref, list(model.parameters()))
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-6)
    for a, b in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)
    # and a different fill value under the gaps changes nothing
    other = target.masked_fill(gaps, 1e6)
    refilled = masked_mse(pred2, torch.where(gaps, torch.nan, other))[0]
    assert float(refilled.detach()) == float(loss.detach())


def _weights(path):
    return load_model(path).state_dict()


def test_same_seed_identical_weights_and_other_seed_differs(windows, tiny_arch, tmp_path):
    s = TrainSettings(**{**FAST, "max_epochs": 2})
    a = _weights(train_member(windows, s, 5, tmp_path / "a", arch=tiny_arch))
    b = _weights(train_member(windows, s, 5, tmp_path / "b", arch=tiny_arch))
    c = _weights(train_member(windows, s, 6, tmp_path / "c", arch=tiny_arch))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], c["head.weight"])


class _Interrupt(Exception):
    pass


def test_resume_after_interrupt_is_bit_identical(windows, tiny_arch, tmp_path):
    s = TrainSettings(**FAST)
    full = _weights(train_member(windows, s, 3, tmp_path / "full", arch=tiny_arch))

    def stop_after_two(epoch, state):
        if epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train_member(windows, s, 3, tmp_path / "cut", arch=tiny_arch, on_epoch_end=stop_after_two)
    assert (tmp_path / "cut" / "checkpoints" / "member_3.pt").is_file()
    assert not (tmp_path / "cut" / "models" / "member_3.pt").exists()
    resumed = _weights(train_member(windows, s, 3, tmp_path / "cut", arch=tiny_arch))
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    log = pd.read_csv(tmp_path / "cut" / "train_log_member_3.csv")
    full_log = pd.read_csv(tmp_path / "full" / "train_log_member_3.csv")
    assert list(log["epoch"]) == [1, 2, 3]
    np.testing.assert_array_equal(log["val_loss"], full_log["val_loss"])


def test_early_stopping_restores_best(windows, tiny_arch, tmp_path):
    s = TrainSettings(max_epochs=30, patience=1, learning_rate=0.05, progress=False)
    path = train_member(windows, s, 0, tmp_path, arch=tiny_arch)
    log = pd.read_csv(tmp_path / "train_log_member_0.csv")
    prov = load_model(path).provenance
    best = int(log["val_loss"].idxmin()) + 1
    assert prov["best_epoch"] == best
    assert prov["stopped_early"] == (len(log) < 30)
    from hydrointerp.training.batches import evaluate_loss

    model = load_model(path)
    val = evaluate_loss(model, windows.frames, windows.targets, windows.splits["val"], 20)
    assert val == pytest.approx(log["val_loss"].min(), rel=1e-5)


def test_training_reduces_validation_loss(windows, tiny_arch, tmp_path):
    s = TrainSettings(**{**FAST, "max_epochs": 4})
    train_member(windows, s, 0, tmp_path, arch=tiny_arch)
    log = pd.read_csv(tmp_path / "train_log_member_0.csv")
    assert log["val_loss"].iloc[-1] < log["val_loss"].iloc[0]


def test_config_rejects_unknown_keys(tmp_path):
    from hydrointerp.config import load_config, parse_config

    base = {"name": "t", "data": {"source": "virtual"}}
    with pytest.raises(ConfigError, match="ensemble.training.learning_rat"):
        parse_config({**base, "ensemble": {"training": {"learning_rat": 0.1}}})
    with pytest.raises(ConfigError, match="ensemble.model.lstm_unit"):
        parse_config({**base, "ensemble": {"model": {"lstm_unit": 8}}})
    with pytest.raises(ConfigError, match="ensemble.model.n_out is taken from the region"):
        parse_config({**base, "ensemble": {"model": {"n_out": 8}}})
    p = tmp_path / "c.yaml"
    p.write_text(
        "name: c\ndata: {source: virtual}\nensemble: {members: 2, training: {max_epochs: 3}}\n"
    )
    cfg = load_config(p)
    training = TrainSettings(**cfg.ensemble.training)
    assert cfg.ensemble.member_seeds() == [0, 11] and training.batch_size == 64
    assert parse_config({**base, "ensemble": {"members": 10}}).ensemble.member_seeds()[-1] == 99
    with pytest.raises(ConfigError, match="seeds"):
        parse_config({**base, "ensemble": {"members": 2, "seeds": [1]}})


def test_model_head_mismatch_is_config_error(windows, tmp_path):
    with pytest.raises(ConfigError):
        train_member(
            windows,
            TrainSettings(**FAST),
            0,
            tmp_path,
            init_model=CNNLSTM(
                n_out=3, conv_filters=(4,), conv_kernels=(1,), pool_after=0, lstm_units=4
            ),
        )


def test_bulk_head_start_reproduces_bulk_and_validate_start_never_loses(
    windows, tiny_arch, tmp_path
):
    from hydrointerp.training.batches import evaluate_loss
    from hydrointerp.training.finetune import cluster_start

    bulk = load_model(train_member(windows, TrainSettings(**FAST), 0, tmp_path, arch=tiny_arch))
    stations = [windows.station_ids[3], windows.station_ids[1]]
    start = cluster_start(bulk, windows.station_ids, stations, seed=5, head_init="bulk")
    days, targets = windows.frames, np.asarray(windows.splits["test"])
    want = bulk.predict_block(days, targets, lookback=20)[:, [3, 1]]
    torch.testing.assert_close(start.predict_block(days, targets, lookback=20), want)
    assert start.arch.n_out == 2 and not torch.equal(
        cluster_start(bulk, windows.station_ids, stations, 5, "random").head.weight,
        start.head.weight,
    )
    # a learning rate that wrecks the model: with validate_start the start weights are kept
    sub = windows.subset_stations(stations)
    wreck = TrainSettings(**{**FAST, "learning_rate": 5.0, "validate_start": True})
    kept = load_model(train_member(sub, wreck, 0, tmp_path, init_model=start, name="fine"))
    start_val = evaluate_loss(start, sub.frames, sub.targets, sub.splits["val"], 20)
    kept_val = evaluate_loss(kept, sub.frames, sub.targets, sub.splits["val"], 20)
    log = pd.read_csv(tmp_path / "train_log_fine.csv")
    assert kept_val <= start_val + 1e-6 and kept_val <= log["val_loss"].min() + 1e-6
    assert log["val_loss"].min() > start_val  # the wrecked epochs really were worse
    with pytest.raises(ValueError, match="head_init"):
        cluster_start(bulk, windows.station_ids, stations, 5, "copy")


def test_grad_clip_bounds_each_update(windows, tiny_arch):
    from hydrointerp.training.train import _train_epoch

    model = build_model(tiny_arch, 0)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    batch = [np.asarray(windows.splits["train"][:16])]
    _train_epoch(model, opt, windows, batch, None, grad_clip=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    step = float((after - before).norm())
    assert 0 < step <= 1e-3 * (1 + 1e-5)  # SGD with lr 1: the update is the clipped gradient
