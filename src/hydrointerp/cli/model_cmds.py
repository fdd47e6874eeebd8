"""CLI verbs: model import (``import-keras``) and prediction (``predict``)."""

from __future__ import annotations

from pathlib import Path

import typer

from hydrointerp.cli.app import app
from hydrointerp.cli.options import Device


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
    from hydrointerp.models.saved import import_keras

    for path in import_keras(list(sources), out):
        typer.echo(f"wrote {path}")


def _read_data(data: Path):  # noqa: ANN202 - returns an xarray.Dataset
    """RegionData from a region.nc or the mini folder (or the shared folder holding it)."""
    from hydrointerp.data import region
    from hydrointerp.data.mini import read_mini
    from hydrointerp.errors import DataError

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
    from hydrointerp.training.cluster import read_clusters_table

    table = read_clusters_table(str(path))
    return {str(s): int(k) for s, k in zip(table["station"].values, table.values, strict=True)}


def _target_times(ds, lookback: int, start: str | None, end: str | None):  # noqa: ANN001,ANN202
    """Days with a full look-back window inside the weather (up to the day after weather_end)."""
    import pandas as pd

    from hydrointerp.data.region import weather_end
    from hydrointerp.errors import ConfigError

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


def add_skill(pred, flow):  # noqa: ANN001,ANN201 - xarray in, xarray out
    """Add ``observed``, per-member ``nse(member, station)`` and ``nse_ensemble(station)``."""
    from hydrointerp.training.metrics import nse

    obs = flow.sel(time=pred["time"])
    pred["observed"] = obs.drop_vars([c for c in obs.coords if c not in ("time", "station")])
    pred["nse"] = nse(pred["observed"], pred["prediction"])
    pred["nse_ensemble"] = nse(pred["observed"], pred["ensemble_mean"])
    for name in ("nse", "nse_ensemble"):
        pred[name].attrs.update(units="1", long_name="Nash-Sutcliffe efficiency")
    pred["observed"].attrs.update(units="1", long_name="observed flow (normalised)")
    return pred


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
) -> None:
    """Predict normalised flow with an ensemble; write every member, the mean and per-station NSE.

    The output NetCDF holds ``prediction(member, time, station)``, ``ensemble_mean(time,
    station)``, ``observed(time, station)``, ``nse(member, station)`` and ``nse_ensemble(station)``.
    Targets default to every day with a full 365-day window.

    Example: ``hydrointerp predict --models ../shared/data/cnn_lstm_era/models --data
    ../shared/data/cnn_lstm_era/mini --out pred.nc``
    """
    from hydrointerp.atomic import write_netcdf
    from hydrointerp.errors import ConfigError
    from hydrointerp.models.ensemble import ensemble_from_paths

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
    pred = add_skill(ens.predict(ds["weather"], times), ds["flow"])
    pred.attrs.update(source_data=str(data), models=" ".join(str(m) for m in models))
    write_netcdf(pred, out)
    median = float(pred["nse_ensemble"].median())
    typer.echo(
        f"wrote {out}: {ens.n_members} member(s), {len(times)} days, {len(ids)} stations;"
        f" median NSE of the ensemble mean {median:.3f}"
    )
