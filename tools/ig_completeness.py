"""Print how complete a run's integrated-gradients maps are at several step counts.

    python tools/ig_completeness.py RUN_DIR [--days 4] [--steps 8,16,32,64] [--method NAME]

The model of ``RUN_DIR`` (a finished run directory: its config, region and trained ensemble) on
``--days`` target days spread evenly over the experiment's targets; for each step count the
IG attributions (``--method``: zero or climatology baseline) of every station and day are
summed and compared with the change ``f(x) - f(baseline)`` they should add up to
(:func:`hydrointerp.experiments.completeness.ig_completeness`). Printed per step count: the
median and maximum relative gap, the summed gap (sum |gap| / sum |change|) and the seconds. The
attribution settings (batch) are the run's own for the experiment's IG method where it has one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hydrointerp.config import load_config
from hydrointerp.experiments.attribution_methods import IG_METHODS
from hydrointerp.experiments.completeness import ig_completeness, spread_targets
from hydrointerp.pipeline.experiment_stages import VariantSource


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--steps", default="8,16,32,64")
    ap.add_argument("--experiment", default="heat_map")
    ap.add_argument(
        "--method",
        default="integrated_gradients",
        choices=list(IG_METHODS),
    )
    ap.add_argument("--shared", default=None, help="the shared folder, for runs on its data")
    args = ap.parse_args()
    cfg = load_config(args.run_dir / "config.yaml")
    source = VariantSource(str(args.run_dir), cfg, args.shared, args.experiment, "model")
    _, _, exp = source.resolve()
    inputs = spread_targets(source.load(), args.days)
    settings = exp.attribution_settings()
    n_st = inputs.stations.sizes["station"]
    dates = ", ".join(str(t.date()) for t in inputs.target_times)
    print(
        f"{args.run_dir}: {args.method} of the model, {n_st} stations x"
        f" {len(inputs.target_times)} target days ({dates})"
    )
    print("| steps | median gap | max gap | summed gap | seconds |")
    print("|---:|---:|---:|---:|---:|")
    for n in (int(v) for v in args.steps.split(",")):
        t0 = time.perf_counter()
        gap = ig_completeness(inputs, n, settings, method=args.method)
        a = gap.attrs
        print(
            f"| {n} | {a['median_relative_error']:.2%} | {a['max_relative_error']:.2%} |"
            f" {a['summed_relative_error']:.2%} | {time.perf_counter() - t0:.1f} |"
        )


if __name__ == "__main__":
    main()
