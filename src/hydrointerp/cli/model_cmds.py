"""CLI verbs: model import (``import-keras``) and prediction (``predict``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from hydrointerp.cf import write_cf
from hydrointerp.cli.app import app
from hydrointerp.cli.options import Device
from hydrointerp.data import region
from hydrointerp.data.mini import read_mini
from hydrointerp.data.region import weather_end
from hydrointerp.data.windows import Normaliser
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.models.ensemble import ensemble_from_paths
from hydrointerp.models.saved import import_keras
from hydrointerp.training.cluster import read_clusters_table
from hydrointerp.training.metrics import nse, physical_skill


@app.command("import-keras")
def import_keras_cmd(
    sources: list[Path] = typer.Argument(..., help="Keras .h5 files (Keras 2.x HDF5)."),
    out: Path = typer.Option(..., "--out", help="Folder for the converted <name>.pt files."),
) -> None:
    """Convert published Keras .h5 models to the project's saved-model format (.pt).

    No TensorFlow is needed. Each file becomes ``OUT/<stem>.pt`` holding the weights, the
    architecture and provenance (source file, sha256, Keras version).

    Example: ``hydrointerp import-keras ../shared/data/cnn_lstm_era/models/*.h5 --out models/``
    """
    for path in import_keras(list(sources), out):
        typer.echo(f"wrote {path}")


def _read_data(data: Path):  # noqa: ANN202 - returns an xarray.Dataset
    """RegionData from a region.nc or the mini folder (or the shared folder holding it)."""
    ds = region.load(data) if data.is_file() else read_mini(data, basin_masks=False)
    if not region.is_normalised(ds):
        raise DataError(
            "predict needs normalised inputs (attrs normalised = true), as the published mini year;"
            " normalise the region with its training-period constants first",
            source=str(data),
            variable="weather",
            expected="normalised",
            found="physical units",
        )
    return ds


def _read_clusters(path: Path | None) -> dict[str, int] | None:
    if path is None:
        return None

    table = read_clusters_table(str(path))
    return {str(s): int(k) for s, k in zip(table["station"].values, table.values, strict=True)}


def _target_times(ds, lookback: int, start: str | None, end: str | None):  # noqa: ANN001,ANN202
    """Days with a full look-back window inside the weather (up to the day after weather_end)."""
    first = pd.Timestamp(ds["time"].values[0]) + pd.Timedelta(days=lookback)
    last = min(weather_end(ds) + pd.Timedelta(days=1), pd.Timestamp(ds["time"].values[-1]))
    span = f"{first.date()} .. {last.date()}"
    wanted = {}
    for option, value in (("--start", start), ("--end", end)):
        if value is None:
            continue
        try:
            wanted[option] = pd.Timestamp(value)
        except ValueError:
            raise ConfigError(
                f"{option} is not a date; expected: YYYY-MM-DD; found: {value!r}"
            ) from None
        if not first <= wanted[option] <= last:
            raise ConfigError(
                f"{option} {wanted[option].date()} is outside the days this data can predict"
                f" (a full {lookback}-day look-back is needed); expected: {span}; found: {value}"
            )
    first = max(first, wanted.get("--start", first))
    last = min(last, wanted.get("--end", last))
    if first > last:
        raise ConfigError(
            f"--start is after --end; expected: a start on or before the end; found: {start} ..."
            f" {end}"
        )
    return pd.date_range(first, last, freq="D")


def add_skill(pred, flow, norm=None):  # noqa: ANN001,ANN201 - xarray in, xarray out
    """Add ``observed``, per-member ``nse(member, station)``, ``nse_ensemble(station)`` and the
    metric suite of the ensemble mean as ``skill_<metric>(station)``.

    ``norm`` (a fitted Normaliser) lets the suite run in m3/s; without it the metrics that need
    physical units are left out (``training.metrics.physical_skill``).
    """
    obs = flow.sel(time=pred["time"])
    pred["observed"] = obs.drop_vars([c for c in obs.coords if c not in ("time", "station")])
    pred["nse"] = nse(pred["observed"], pred["prediction"])
    pred["nse_ensemble"] = nse(pred["observed"], pred["ensemble_mean"])
    for name in ("nse", "nse_ensemble"):
        pred[name].attrs.update(units="1", long_name="Nash-Sutcliffe efficiency")
    pred["observed"].attrs.update(units="1", long_name="observed flow (normalised)")
    scores = physical_skill(pred["observed"], pred["ensemble_mean"], norm)
    for name in scores.data_vars:
        pred[f"skill_{name}"] = scores[name]
    pred.attrs["skill_flow_units"] = scores.attrs["flow_units"]
    return pred


def skill_lines(pred) -> list[str]:  # noqa: ANN001 - an xarray.Dataset from add_skill
    """One line per metric: the median over stations of the ensemble mean's score."""
    lines = [f"{'metric':<14}{'median':>12}  units   (ensemble mean, over stations)"]
    for var in [v for v in pred.data_vars if str(v).startswith("skill_")]:
        da = pred[var]
        value = float(da.median(skipna=True)) if bool(da.notnull().any()) else float("nan")
        name = str(var).removeprefix("skill_")
        lines.append(f"{name:<14}{value:>12.4g}  {da.attrs.get('units', '')}")
    return lines


@app.command("predict")
def predict_cmd(
    models: list[Path] = typer.Option(
        ..., "--models", help="Model files (.h5/.pt) or folders; repeat the option for several."
    ),
    data: Path = typer.Option(..., "--data", help="Mini folder, shared folder or region.nc."),
    out: Path = typer.Option(..., "--out", help="NetCDF file to write (atomically)."),
    ensemble: str = typer.Option("bulk", "--ensemble", help="bulk or fine (cluster-routed)."),
    clusters: Path | None = typer.Option(
        None, "--clusters", help="clusters.csv (station_id, cluster); needed for --ensemble fine."
    ),
    device: Device = "cpu",
    float16_inputs: bool = typer.Option(
        False, "--float16-inputs", help="Round inputs through float16 as the published windows."
    ),
    start: str | None = typer.Option(None, "--start", help="First target day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last target day (YYYY-MM-DD)."),
    normaliser: Path | None = typer.Option(
        None,
        "--normaliser",
        help="normaliser.nc of the run: scores the metrics that need m3/s in m3/s.",
    ),
) -> None:
    """Predict normalised flow with an ensemble; write every member, the mean and per-station NSE.

    The output NetCDF holds ``prediction(member, time, station)``, ``ensemble_mean(time,
    station)``, ``observed(time, station)``, ``nse(member, station)``, ``nse_ensemble(station)``
    and neuralhydrology's metric suite of the ensemble mean as ``skill_<metric>(station)``, whose
    medians it prints. Targets default to every day with a full 365-day window.

    Example: ``hydrointerp predict --models ../shared/data/cnn_lstm_era/models --data
    ../shared/data/cnn_lstm_era/mini --out pred.nc``
    """
    if ensemble not in ("bulk", "fine"):
        raise ConfigError(f"--ensemble must be bulk or fine, got {ensemble!r}")
    if ensemble == "fine" and clusters is None:
        raise ConfigError("--ensemble fine needs --clusters clusters.csv")
    ds = _read_data(data)
    ids = [str(s) for s in ds["station"].values]
    ens = ensemble_from_paths(
        models, ids, ensemble, _read_clusters(clusters), device, float16_inputs
    )
    times = _target_times(ds, ens.lookback, start, end)
    norm = None
    if normaliser is not None:
        norm = Normaliser.load(normaliser)
    pred = add_skill(ens.predict(ds["weather"], times), ds["flow"], norm)
    pred.attrs.update(source_data=str(data), models=" ".join(str(m) for m in models))
    write_cf(pred, out, "hydrointerp predictions")
    median = float(pred["nse_ensemble"].median())
    typer.echo(
        f"wrote {out}: {ens.n_members} member(s), {len(times)} days, {len(ids)} stations;"
        f" median NSE of the ensemble mean {median:.3f}"
    )
    typer.echo("\n".join(skill_lines(pred)))
