"""How the cost grows with stations, grid size, years and ensemble size (docs/scaling.md).

Times, on this machine, the two kernels every stage is made of, with random weights of the
published architecture (cost does not depend on the weights):

- prediction of a year of overlapping windows with the cached-feature path
  (``CNNLSTM.predict_block``, what experiments and skill use), per model;
- one training step (forward + backward + Adam) on a batch of 64 windows with shared-day
  encoding (``training.batches.batch_forward``, what training uses).

Each size is measured against a straightforward reference in the same run (the per-window
``forward`` for prediction, ``naive_forward`` for training) on the base size: the outputs must
agree (exit 1 otherwise) and the ratio is printed. Ensemble size and perturbation count multiply
the per-model cost linearly (independent models / independent copies), so they are not timed.

Run: ``.venv/bin/python benchmarks/scaling.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.training.batches import batch_forward, naive_forward

torch.set_num_threads(2)
LOOKBACK = 365


def _model(n_out: int) -> CNNLSTM:
    torch.manual_seed(0)
    return CNNLSTM(Architecture(n_out=n_out)).eval()


def _best(fn, repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def predict_seconds(n_out: int, h: int, w: int, years: int) -> float:
    """Seconds to predict ``years`` x 365 target days with one model (cached features)."""
    model = _model(n_out)
    n_days = LOOKBACK + 365 * years
    frames = torch.randn(n_days, h, w, 3)
    targets = np.arange(LOOKBACK, n_days)
    return _best(lambda: model.predict_block(frames, targets, lookback=LOOKBACK))


def train_step_seconds(n_out: int, h: int, w: int, batch: int = 64) -> float:
    """Seconds of one training step on ``batch`` consecutive windows (shared-day encoding)."""
    model = _model(n_out).train()
    frames = torch.randn(LOOKBACK + batch, h, w, 3)
    targets = torch.arange(LOOKBACK, LOOKBACK + batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    y = torch.randn(batch, n_out)

    def step() -> None:
        opt.zero_grad()
        loss = ((batch_forward(model, frames, targets, LOOKBACK) - y) ** 2).mean()
        loss.backward()
        opt.step()

    return _best(step)


def check_against_reference() -> tuple[float, float]:
    """Fast paths equal their references on a small case; return the two speed ratios."""
    model = _model(20)
    frames = torch.randn(LOOKBACK + 32, 12, 32, 3)
    targets = np.arange(LOOKBACK, LOOKBACK + 32)
    model.predict_block(frames, targets[:2], lookback=LOOKBACK)  # warm-up (allocator, kernels)
    t0 = time.perf_counter()
    fast = model.predict_block(frames, targets, lookback=LOOKBACK)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.inference_mode():
        ref = model(torch.stack([frames[t - LOOKBACK : t] for t in targets]))
    t_ref = time.perf_counter() - t0
    if not torch.allclose(fast, ref, atol=1e-5):
        print("predict_block differs from forward", float((fast - ref).abs().max()))
        sys.exit(1)
    tt = torch.as_tensor(targets[:16])
    with torch.no_grad():
        t0 = time.perf_counter()
        a = batch_forward(model, frames, tt, LOOKBACK)
        t_a = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = naive_forward(model, frames, tt, LOOKBACK)
        t_b = time.perf_counter() - t0
    if not torch.allclose(a, b, atol=1e-5):
        print("batch_forward differs from naive_forward", float((a - b).abs().max()))
        sys.exit(1)
    return t_ref / t_fast, t_b / t_a


def main() -> None:
    r_pred, r_train = check_against_reference()
    print(
        f"reference check passed: cached prediction {r_pred:.0f}x faster than per-window"
        f" forward (32 windows); shared-day batch {r_train:.1f}x faster than naive (16 windows)"
    )
    print("\nprediction, one model, cached features (seconds)")
    print(f"{'stations':>9} {'grid':>7} {'years':>6} {'seconds':>8} {'s/target-year':>14}")
    for n_out, (h, w), years in [
        (60, (12, 32), 1),
        (226, (12, 32), 1),
        (900, (12, 32), 1),
        (226, (24, 64), 1),
        (226, (48, 128), 1),
        (226, (12, 32), 2),
        (226, (12, 32), 4),
    ]:
        s = predict_seconds(n_out, h, w, years)
        print(f"{n_out:>9} {h:>3}x{w:<3} {years:>6} {s:>8.3f} {s / years:>14.3f}")
    print("\ntraining step, batch 64, shared-day encoding (seconds)")
    print(f"{'stations':>9} {'grid':>7} {'seconds':>8}")
    for n_out, (h, w) in [
        (60, (12, 32)),
        (226, (12, 32)),
        (900, (12, 32)),
        (226, (24, 64)),
        (226, (48, 128)),
    ]:
        print(f"{n_out:>9} {h:>3}x{w:<3} {train_step_seconds(n_out, h, w):>8.3f}")


if __name__ == "__main__":
    main()
