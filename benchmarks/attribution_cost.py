"""Cost of every registered attribution method for one published model on the mini year.

The Coastal fine-tuned model ``model_fine_0_cluster_3`` (12 stations, 365-day window) explains
``--days`` target days of 2011 (from ``--first``, default 130 = May 11) with each method of
:data:`hydrointerp.experiments.attribution_methods.METHODS` at its default settings, all three
channels as one group (the Experiment 1 map; basins of the basin ablation: the in/near masks, as
the mini year has no full set of basin outlines). Printed per method: wall seconds, seconds per
explained (station, day) and, for the gradient methods (one Captum call per station and day),
the time scaled to the published setup (226 stations x 365 days, one member). The record-level
methods (perturbation, RISE, occlusion, basin ablation) explain every station of every day from
one masked copy of the record per mask or cell, so their cost does not grow with stations nor
linearly with days: they are not scaled (run them with ``--days 365`` for the full year). The
record-level occlusion is checked against Captum ``Occlusion`` on the plain per-window forward
of one day (same numbers; ratio printed). Also printed: the integrated-gradients completeness
error on the published model and the share of |attribution| in the oldest and newest 30 days
of the window (the zero-started LSTM pitfall).

Usage: ``.venv/bin/python benchmarks/attribution_cost.py [--days 2] [--threads 2]
[--first 130] [--methods saliency,occlusion] [--ig-steps 16]``
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch
from captum.attr import Occlusion

from hydrointerp.cli.resolve import resolve_inputs
from hydrointerp.experiments.attribution_methods import METHOD_NAMES, METHODS, AttributionSettings
from hydrointerp.experiments.completeness import ig_completeness
from hydrointerp.experiments.method_maps import attribute
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.models.keras_import import load_keras_model
from hydrointerp.shared import find_shared

PUBLISHED_STATIONS, PUBLISHED_DAYS = 226, 365


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--first", type=int, default=130, help="first target (0 = 2011-01-01)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default=",".join(METHOD_NAMES), help="'' for none")
    parser.add_argument("--ig-steps", type=int, default=16, help="steps of the completeness check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shared = find_shared(None)
    inputs = resolve_inputs(None, shared, ensemble="fine", n_members=1)
    model = load_keras_model(
        shared / "data" / "cnn_lstm_era" / "models" / "model_fine_0_cluster_3.h5"
    )
    coastal = inputs.stations["cluster"].values == 3
    inputs = replace(
        inputs,
        predictor=model,
        stations=inputs.stations.isel(station=coastal),
        target_times=inputs.target_times[args.first : args.first + args.days],
    )
    n_st = inputs.stations.sizes["station"]
    heat = Perturbation(iters_one_pass=20, iters_total=200, tol=0.1)  # Experiment 1's sweep
    settings = AttributionSettings(basin_source="in_near")  # the mini year has no basin masks
    print(f"{n_st} stations x {args.days} days, {args.threads} threads")
    print(f"{'method':34s} {'s':>8s} {'s/(st*day)':>11s} {'scaled h':>9s}")
    results, seconds = {}, {}
    for method in filter(None, args.methods.split(",")):
        began = time.perf_counter()
        ds = attribute(inputs, method, settings, [(0, 1, 2)], heat, progress=False)
        sec = time.perf_counter() - began
        results[method], seconds[method] = ds, sec
        scaled = "-"
        if METHODS[method].family == "gradient":
            scale = PUBLISHED_STATIONS * PUBLISHED_DAYS / (n_st * args.days)
            scaled = f"{sec * scale / 3600:.1f}"
        print(f"{method:34s} {sec:8.1f} {sec / (n_st * args.days):11.3f} {scaled:>9s}")
    if "occlusion" in results:
        ref_sec = _occlusion_reference(inputs, model, results["occlusion"]["attribution"])
        ratio = ref_sec * args.days / seconds["occlusion"]
        print(
            f"occlusion: record path {seconds['occlusion']:.1f} s for {args.days} days vs"
            f" per-window reference {ref_sec * args.days:.1f} s scaled: {ratio:.1f}x"
        )
    if "integrated_gradients" in results or not args.methods:
        _completeness(inputs, args.ig_steps)
    for method, ds in results.items():
        if "attribution_by_lag" in ds:
            lag = np.abs(ds["attribution_by_lag"]).sum(("station", "time", "channel"))
            old = float(lag.sel(lag=slice(336, 365)).sum() / lag.sum())
            new = float(lag.sel(lag=slice(1, 30)).sum() / lag.sum())
            print(f"{method:34s} mass in the oldest 30 days {old:.2%}, newest 30 days {new:.2%}")
    return 0


def _occlusion_reference(inputs, model, fast) -> float:  # noqa: ANN001
    """Straightforward occlusion of the first target day: Captum ``Occlusion`` on the window
    itself, one plain forward per occluded cell, against the record-level path."""
    frames = torch.as_tensor(inputs.frames_array())
    t = int(inputs.target_indices()[0])
    x = frames[t - 365 : t][None]
    began = time.perf_counter()
    with torch.no_grad():
        ref = Occlusion(lambda w: model(w).reshape(-1)).attribute(
            x, sliding_window_shapes=(365, 1, 1, 3), strides=(365, 1, 1, 3), baselines=0.0
        )
    sec = time.perf_counter() - began
    ref = np.abs(ref[:, 0, :, :, 0].numpy())  # [S, H, W]: every look-back day and channel
    got = fast.isel(time=0, channel=0).values
    diff = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"occlusion reference (per-window forward, 1 day): {sec:.1f} s; max rel. diff {diff:.1e}")
    if diff > 1e-4:
        raise SystemExit(f"occlusion paths differ: {diff:.2e}")
    return sec


def _completeness(inputs, n_steps: int) -> None:  # noqa: ANN001
    """Sum of zero-baseline IG attributions against f(x) - f(0), per station and day."""
    gap = ig_completeness(inputs, n_steps)
    rel, change = gap["relative_error"].values, np.abs(gap["change"].values)
    big = change >= np.median(change)
    print(
        f"IG completeness (n_steps={gap.attrs['n_steps']}): |error| / |f(x) - f(0)| median"
        f" {gap.attrs['median_relative_error']:.2%}, max {gap.attrs['max_relative_error']:.2%};"
        f" over the larger half of |f(x) - f(0)| max {np.nanmax(rel[big]):.2%}; summed |error| /"
        f" summed |change| {gap.attrs['summed_relative_error']:.2%}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
