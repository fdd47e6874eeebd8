"""Benchmark: the HESS heat map of one published model over the 365 mini days, 100 masks per day.

Fast engine (shared masks: every perturbed day encoded once, windows gathered from cached
features) against the reference (the same perturbations, every perturbed 365-day window through
the plain ``model.forward`` in batches of 64, as the published code). The fast engine runs all 365
target days; the reference runs ``--ref-days`` of them (>= 20, spread over the year) and its time
is scaled to 365 days. The per-day mask-weighted responses are compared on the common days (exit 1
if they differ by more than 1e-5 relative to the largest value), and the speed ratio is printed.

Usage: ``.venv/bin/python benchmarks/heat_map.py [--model model_bulk_0.h5] [--masks 100]
[--ref-days 20] [--threads 2] [--device cpu]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from hydrointerp.data.mini import read_mini
from hydrointerp.experiments.engine import PerturbationEngine
from hydrointerp.experiments.perturbation import Perturbation, draw_pass
from hydrointerp.models.keras_import import load_keras_model
from hydrointerp.shared import find_shared


def timed(fn):  # noqa: ANN001, ANN201
    """Run ``fn`` once; return (seconds, result)."""
    began = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - began, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="model_bulk_0.h5")
    parser.add_argument("--masks", type=int, default=100)
    parser.add_argument("--ref-days", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False  # outputs are compared to 1e-5: full float32 on GPUs
    torch.backends.cuda.matmul.allow_tf32 = False
    shared = find_shared()
    region = read_mini(shared, basin_masks=False)
    frames = np.asarray(region["weather"].values[:729], dtype=np.float32)
    model = load_keras_model(shared / "data/cnn_lstm_era/models" / args.model, device=args.device)
    targets = np.arange(365, 730)
    settings = Perturbation(iters_one_pass=args.masks, iters_total=args.masks, seed=args.seed)
    masks = draw_pass(np.random.default_rng(args.seed), settings, 1, (12, 32))

    fast = PerturbationEngine(model, frames, 365, mask_chunk=10)
    t_fast, got = timed(lambda: fast.weighted_response(targets, masks, reduce="member"))
    ref_idx = np.linspace(0, len(targets) - 1, max(20, args.ref_days)).round().astype(int)
    ref = PerturbationEngine(model, frames, 365, reference=True)
    t_ref, want = timed(lambda: ref.weighted_response(targets[ref_idx], masks, reduce="member"))
    t_ref_full = t_ref * len(targets) / len(ref_idx)

    scale = float(want.abs().max())
    err = float((got[ref_idx] - want).abs().max()) / scale
    print(
        f"device {args.device}, {args.threads} threads, {args.masks} shared masks per day,"
        f" {model.arch.n_out} stations"
    )
    print(f"fast engine, 365 days          : {t_fast:8.2f} s")
    print(
        f"reference, {len(ref_idx):3d} days           : {t_ref:8.2f} s"
        f"  -> {t_ref_full:9.1f} s scaled to 365 days"
    )
    print(f"speed-up                       : {t_ref_full / t_fast:8.1f} x")
    print(f"max |fast - reference| / max   : {err:.2e} on the {len(ref_idx)} common days")
    if not err <= 1e-5:
        print("MISMATCH: the fast engine and the reference disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
