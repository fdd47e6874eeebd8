"""Run further attribution methods on a finished virtual-region run, then re-score it.

The pipeline runs ``fidelity.methods`` itself, but adding them to a run config changes the
experiment stages' fingerprint and recomputes every experiment; this measures them on a run
that already has its perturbation results, through the same task function the pipeline uses.

    python tools/fidelity_methods.py runs/fidelity --methods integrated_gradients saliency
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hydrointerp.config import load_config
from hydrointerp.fidelity.controls import method_variants
from hydrointerp.fidelity.output import write_fidelity
from hydrointerp.pipeline.experiment_stages import ExperimentTask, run_experiment_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--methods", nargs="+", required=True)
    ap.add_argument("--experiments", nargs="+", default=["heat_map"])
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    cfg = load_config(str(args.run_dir / "config.yaml"))
    for name in args.experiments:
        for method in args.methods:
            for v in method_variants(method, list(cfg.fidelity.controls)):
                t0 = time.perf_counter()
                task = ExperimentTask(str(args.run_dir), cfg, None, name, v.name, True)
                out = run_experiment_task(task)
                print(f"{name} {v.name}: {time.perf_counter() - t0:.1f} s -> {out['file']}")
    t0 = time.perf_counter()
    write_fidelity(args.run_dir, args.n_boot)
    print(f"fidelity table: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
