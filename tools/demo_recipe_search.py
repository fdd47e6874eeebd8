"""Seed spread of demo-model recipes: median test NSE of single members and of every pair.

Trains the demo's model (configs/demo.yaml: virtual region seed 1, 12 years, 30 gauges) with each
recipe and seed, then scores every member and every combination of 2..N members of a recipe
(bulk ensemble mean, test years 2010-2011). This produced the GPU table in docs/training.md
(``--device cuda``; a member takes 4-19 s on an H200, 5-7 min on 2 CPU cores).

Run: ``.venv/bin/python tools/demo_recipe_search.py --device cuda --out results.json``
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import time

import xarray as xr

from hydrointerp.config import Split, WindowSpec
from hydrointerp.data.virtual import generate_region
from hydrointerp.data.virtual_config import VirtualRegionConfig
from hydrointerp.data.windows import Normaliser, make_windows
from hydrointerp.models.cnn_lstm import Architecture
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.saved import load_model
from hydrointerp.training.config import TrainSettings
from hydrointerp.training.metrics import metrics_table, summary
from hydrointerp.training.train import train_member

REGION = dict(
    seed=1, n_years=12, spinup_years=1, n_stations=30, noise_sd=0.05, missing_fraction=0.02
)
MODEL = dict(conv_filters=[8, 8, 8, 16, 16], lstm_units=64, spatial_pool=[3, 8], day_features=32)
TRAIN = dict(batch_size=256, learning_rate=3e-3, grad_clip=1.0, lr_schedule="cosine")
#: name: (look-back days, epochs, LSTM units)
RECIPES = {
    "36ep": (270, 36, 64),
    "50ep": (270, 50, 64),
    "lb210_50ep": (210, 50, 64),
    "u48_50ep": (270, 50, 48),
}


def _score(paths: list, win, norm, device: str) -> float:  # noqa: ANN001
    """Median test NSE of the bulk ensemble mean of these members."""
    ens = Ensemble([load_model(p) for p in paths], list(win.station_ids), win.lookback)
    obs = win.observed("test")
    pred = ens.to(device).predict_members(win.frames, win.splits["test"]).numpy()
    pred = xr.DataArray(pred, dims=("member", "time", "station"), coords=obs.coords)
    return summary(metrics_table(norm.inverse_flow(obs), norm.inverse_flow(pred)))["median_nse"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 11, 22, 33])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--work", default="runs/recipe_search", help="models and logs go here")
    parser.add_argument("--out", default="recipe_search.json")
    parser.add_argument("--max-epochs", type=int, help="cap every recipe's epochs (smoke runs)")
    args = parser.parse_args()
    region = generate_region(VirtualRegionConfig(**REGION))
    rows = []
    for name in args.recipes:
        lookback, epochs, units = RECIPES[name]
        split = Split(train=(2000, 2008), val=(2009, 2009), test=(2010, 2011))
        spec = WindowSpec(lookback=lookback, split=split)
        norm = Normaliser().fit(region, spec.fit_years())
        win = make_windows(region, norm, spec)
        arch = Architecture.for_region({**MODEL, "lstm_units": units}, win.n_stations)
        epochs = min(epochs, args.max_epochs or epochs)
        settings = TrainSettings(
            **TRAIN, max_epochs=epochs, patience=epochs, progress=False, device=args.device
        )
        paths = {}
        score = functools.partial(_score, win=win, norm=norm, device=args.device)

        for seed in args.seeds:
            began = time.perf_counter()
            paths[seed] = train_member(
                win, settings, seed, f"{args.work}/{name}", arch=arch, name=f"seed_{seed}"
            )
            seconds = round(time.perf_counter() - began, 1)
            rows.append(
                {
                    "recipe": name,
                    "members": [seed],
                    "median_nse": score([paths[seed]]),
                    "seconds": seconds,
                }
            )
            print(rows[-1], flush=True)
        for k in range(2, len(args.seeds) + 1):
            for combo in itertools.combinations(args.seeds, k):
                rows.append(
                    {
                        "recipe": name,
                        "members": list(combo),
                        "median_nse": score([paths[c] for c in combo]),
                    }
                )
                print(rows[-1], flush=True)
    with open(args.out, "w") as fh:
        json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
