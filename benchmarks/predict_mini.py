"""Predict the whole published mini year with one model: cached-feature path vs per-window path.

The fast path (:meth:`CNNLSTM.predict_block`) encodes each of the 729 distinct days once and
gathers the 365 windows from the cached features; the reference runs ``model(x)`` on every
365-day window (365 x 365 day encodings). Both run in the same process, their outputs are
compared (exit 1 if they differ by more than 1e-5; 5e-5 on a GPU, where cuDNN sums the convolutions
in another order for another batch size), and the speed ratio is printed.

Usage: ``.venv/bin/python benchmarks/predict_mini.py [--model model_bulk_0.h5] [--threads 2]
[--repeats 10] [--device cpu]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hydrointerp.data.mini import read_mini
from hydrointerp.models.keras_import import load_keras_model
from hydrointerp.shared import find_shared


def per_window(model, days: torch.Tensor, targets: np.ndarray, batch: int = 8) -> torch.Tensor:
    """The straightforward path: every window through ``model.forward``."""
    out = []
    with torch.inference_mode():
        for chunk in np.array_split(targets, max(1, len(targets) // batch)):
            windows = torch.stack([days[t - 365 : t] for t in chunk])
            out.append(model(windows).cpu())
    return torch.cat(out)


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="model_bulk_0.h5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False  # outputs are compared to 1e-5: full float32 on GPUs
    torch.backends.cuda.matmul.allow_tf32 = False
    era = find_shared() / "data" / "cnn_lstm_era"
    model = load_keras_model(era / "models" / Path(args.model).name, device=args.device)
    mini = read_mini(era / "mini", basin_masks=False)
    days = torch.as_tensor(mini["weather"].values[:729]).to(args.device)
    targets = np.arange(365, 730)
    model.predict_block(days, targets[:5])  # warm-up
    fast_s, fast = best_time(lambda: model.predict_block(days, targets), args.repeats)
    slow_s, slow = best_time(lambda: per_window(model, days, targets), 1)
    diff = float((fast - slow).abs().max())
    print(f"device {args.device}, {args.threads} thread(s), model {args.model}, 365 target days")
    print(f"cached-feature path: {fast_s:.3f} s (best of {args.repeats})")
    print(f"per-window path:     {slow_s:.3f} s")
    print(f"speed-up: {slow_s / fast_s:.1f}x   max |difference|: {diff:.2e}")
    # on a GPU, cuDNN picks other convolution algorithms for other batch sizes: the two paths then
    # differ by float32 rounding of the conv sums (1.1e-5 seen on an H100), not by method
    tol = 1e-5 if torch.device(args.device).type == "cpu" else 5e-5
    if diff > tol:
        print(f"FAIL: the two paths disagree by more than {tol:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
