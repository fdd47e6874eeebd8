"""Stage baseline: the lumped-LSTM baseline beside the CNN-LSTM (``baseline.enabled``).

Runs after ``skill``: trains neuralhydrology's ``cudalstm`` on the basin averages of the same
gauges and split years (:mod:`hydrointerp.interchange.lumped_lstm`), scores its test-period
flow with the same metric suite against the same observations (m3/s), and adds the scores to
``skill.csv`` (columns ``<metric>_lstm``) and ``skill.nc``. Its own files lie in ``baseline/``:
the Caravan export, neuralhydrology's run folder and ``baseline/predictions.nc``.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_text
from hydrointerp.cf import write_cf
from hydrointerp.data.windows import SPLITS, Normaliser
from hydrointerp.errors import ConfigError
from hydrointerp.interchange.lumped_lstm import LumpedLSTMSettings, train_lumped_lstm
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline import model_stages as ms
from hydrointerp.pipeline.runner import RunContext
from hydrointerp.training.metrics import metrics_table

KIND = "lstm"
PREDICTIONS = "baseline/predictions.nc"


def load_baseline(ctx: RunContext) -> xr.DataArray | None:
    """The baseline's test-period discharge ``(time, station)`` m3/s, or None if not run."""
    path = ctx.path(PREDICTIONS)
    if not path.is_file():
        return None
    return xr.load_dataset(path, engine="h5netcdf")[f"{KIND}_mean_discharge"]


def run_baseline(ctx: RunContext) -> dict[str, Any]:
    """Train and score the lumped baseline; add its scores to ``skill.csv`` / ``skill.nc``."""
    cfg = ctx.config
    norm = Normaliser.load(ctx.path(ds.NORMALISER))
    if norm.identity:
        raise ConfigError("baseline.enabled needs a region in physical units (not normalised)")
    region = ds.load_region(ctx)
    spec = ds.window_spec(cfg, region)
    split = {name: spec.split.years(name) for name in SPLITS}
    b = cfg.baseline
    settings = LumpedLSTMSettings(
        hidden_size=b.hidden_size,
        seq_length=b.seq_length or cfg.windows.lookback,
        epochs=b.epochs,
        batch_size=b.batch_size,
        learning_rate=b.learning_rate,
        seed=cfg.seed,
        num_threads=b.num_threads,
    )
    t0 = time.perf_counter()
    lumped = train_lumped_lstm(region, ctx.path("baseline"), split, settings)
    seconds = time.perf_counter() - t0
    pred = xr.load_dataset(ctx.path(ms.PREDICTIONS), engine="h5netcdf")
    obs = norm.inverse_flow(pred["observed"])
    lumped = lumped.sel(time=obs["time"], station=obs["station"])
    sim = lumped["sim"]
    out = xr.Dataset(
        {
            f"{KIND}_mean_discharge": sim,
            f"{KIND}_observed_discharge": lumped["obs"],
            "observed_discharge": obs,
        }
    )
    out = out.assign_coords({k: v for k, v in pred["station"].coords.items() if k != "station"})
    out.attrs.update(pred.attrs, model="neuralhydrology cudalstm, lumped (basin averages)")
    write_cf(out, ctx.path(PREDICTIONS), "hydrointerp lumped-LSTM baseline predictions")
    scores = {KIND: metrics_table(obs.astype(np.float64), sim.astype(np.float64))}
    _add_to_skill(ctx, pred, scores)
    nse = float(np.nanmedian(scores[KIND]["nse"].values))
    return {"median_nse": nse, "train_and_predict_seconds": round(seconds, 1), **asdict(settings)}


def _add_to_skill(ctx: RunContext, pred: xr.Dataset, scores: dict[str, xr.Dataset]) -> None:
    table = pd.read_csv(ctx.path(ms.SKILL), dtype={"station_id": str})
    table = table[[c for c in table.columns if not c.split(" [")[0].endswith(f"_{KIND}")]]
    table = table.merge(ms.skill_table(pred, scores), on="station_id", how="left")
    write_text(ctx.path(ms.SKILL), table.to_csv(index=False))
    skill = xr.load_dataset(ctx.path(ms.SKILL_NC), engine="h5netcdf")
    skill = skill.drop_vars([v for v in skill.data_vars if f"_{KIND}" in str(v)])
    new = ms.skill_dataset(pred, scores)
    for name in new.data_vars:
        skill[name] = new[name].drop_vars([c for c in new[name].coords if c != "station"])
    write_cf(skill, ctx.path(ms.SKILL_NC), "hydrointerp test-period skill")
