"""The lumped-LSTM baseline: neuralhydrology's ``cudalstm`` on basin-averaged forcings.

The question every reviewer asks of a gridded model is what the grid buys over the basin
averages. :func:`train_lumped_lstm` exports the region in the Caravan layout
(:mod:`hydrointerp.interchange.caravan`), trains one regional ``cudalstm`` on the same gauges and
the same train years through neuralhydrology's own API (``start_training``), predicts the test
years with its tester, and returns the simulation (and the observations neuralhydrology read)
in m3/s, back from Caravan's mm/d with each basin's area, labelled ``(time, station)`` like
the CNN-LSTM's predictions.

neuralhydrology is an optional dependency (the ``[neuralhydrology]`` extra).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.errors import ConfigError
from hydrointerp.interchange.caravan import FORCINGS, STREAMFLOW, export_caravan, gauge_id

SOURCE = "hydrointerp"
STATIC = ("area", "p_mean", "frac_snow", "high_prec_freq", "low_prec_freq", "glacier_fraction")


@dataclass(frozen=True)
class LumpedLSTMSettings:
    """Size and training of the baseline (neuralhydrology config keys in brackets)."""

    hidden_size: int = 32  # [hidden_size]
    seq_length: int = 365  # [seq_length] days of forcings per prediction
    epochs: int = 10  # [epochs]
    batch_size: int = 256  # [batch_size]
    learning_rate: float = 0.003  # [learning_rate]
    seed: int = 0  # [seed]
    num_threads: int = 1  # torch threads while training (2 spin under load on shared cores)


def _date(day: pd.Timestamp) -> str:
    return day.strftime("%d/%m/%Y")


def _periods(split: dict[str, tuple[int, int]], first: pd.Timestamp) -> dict[str, str]:
    """neuralhydrology's start/end dates of the train, validation and test years."""
    out = {}
    for name, key in (("train", "train"), ("val", "validation"), ("test", "test")):
        a, b = split[name]
        start = max(pd.Timestamp(f"{a}-01-01"), first)
        out[f"{key}_start_date"] = _date(start)
        out[f"{key}_end_date"] = _date(pd.Timestamp(f"{b}-12-31"))
    return out


def nh_config(
    data_dir: Path, run_dir: Path, basins: list[str], split: dict[str, Any], s: LumpedLSTMSettings,
    first: pd.Timestamp,
) -> dict[str, Any]:  # fmt: skip
    """The neuralhydrology run configuration of the baseline (a plain dict)."""
    basin_file = run_dir / "basins.txt"
    basin_file.write_text("\n".join(basins) + "\n")
    return {
        "experiment_name": "lumped_cudalstm",
        "run_dir": str(run_dir),
        "dataset": "caravan",
        "data_dir": str(data_dir),
        "train_basin_file": str(basin_file),
        "validation_basin_file": str(basin_file),
        "test_basin_file": str(basin_file),
        **_periods(split, first),
        "dynamic_inputs": list(FORCINGS),
        "static_attributes": list(STATIC),
        "target_variables": [STREAMFLOW],
        "model": "cudalstm",
        "head": "regression",
        "output_activation": "linear",
        "hidden_size": s.hidden_size,
        "initial_forget_bias": 3,
        "output_dropout": 0.0,
        "seq_length": s.seq_length,
        "predict_last_n": 1,
        "loss": "NSE",
        "optimizer": "Adam",
        "learning_rate": s.learning_rate,
        "batch_size": s.batch_size,
        "epochs": s.epochs,
        "seed": s.seed,
        "device": "cpu",
        "num_workers": 0,
        "log_interval": 0,
        "log_tensorboard": False,
        "save_weights_every": s.epochs,
        "metrics": [],
    }


def _split_years(split: dict[str, Any]) -> dict[str, tuple[int, int]]:
    try:
        return {k: (int(split[k][0]), int(split[k][1])) for k in ("train", "val", "test")}
    except (KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"the baseline needs train/val/test years, got {split!r}") from exc


def train_lumped_lstm(
    region: xr.Dataset,
    workdir: str | os.PathLike[str],
    split: dict[str, Any],
    settings: LumpedLSTMSettings | None = None,
) -> xr.Dataset:
    """Train the baseline on the train years; return its test-year ``sim`` and the ``obs`` it
    was scored on, ``(time, station)`` in m3/s (from mm/d with each basin's area).

    Parameters
    ----------
    region
        The run's RegionData (physical units, basin masks and areas).
    workdir
        Folder for the Caravan export (``caravan/``) and neuralhydrology's run (``nh/``).
    split
        ``{"train": (first, last), "val": ..., "test": ...}`` calendar years (inclusive).
    settings
        Model size and training; defaults of :class:`LumpedLSTMSettings`.
    """
    # neuralhydrology is optional (the [neuralhydrology] extra): imported only when training
    import torch
    from neuralhydrology.evaluation import get_tester
    from neuralhydrology.training.train import start_training
    from neuralhydrology.utils.config import Config

    s = settings or LumpedLSTMSettings()
    years = _split_years(split)
    work = Path(workdir)
    data_dir, nh_dir = work / "caravan", work / "nh"
    nh_dir.mkdir(parents=True, exist_ok=True)
    export_caravan(region, data_dir, SOURCE, "run region")
    stations = [str(st) for st in region["station"].values]
    basins = [gauge_id(SOURCE, st) for st in stations]
    first = pd.Timestamp(region["time"].values[0]) + pd.Timedelta(days=s.seq_length)
    cfg = Config(nh_config(data_dir, nh_dir, basins, years, s, first))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, s.num_threads))
    try:
        start_training(cfg)
        tester = get_tester(cfg=cfg, run_dir=cfg.run_dir, period="test", init_model=True)
        results = tester.evaluate(save_results=False, metrics=[])
    finally:
        torch.set_num_threads(threads)
    area = region["area_km2"].astype(np.float64)
    area = area.drop_vars([c for c in area.coords if c != "station"])
    out = xr.Dataset()
    for part, text in (("sim", "simulated"), ("obs", "observed (as neuralhydrology read it)")):
        series = [results[b]["1D"]["xr"][f"{STREAMFLOW}_{part}"].isel(time_step=-1) for b in basins]
        mm = xr.concat(series, dim="station").drop_vars("time_step", errors="ignore")
        mm = mm.rename(date="time").assign_coords(station=stations)
        q = (mm * area * 1e6 / 1000.0 / 86400.0).transpose("time", "station").astype(np.float32)
        q.attrs = {"units": "m3 s-1", "long_name": f"lumped cudalstm run: {text} discharge"}
        out[part] = q
    return out
