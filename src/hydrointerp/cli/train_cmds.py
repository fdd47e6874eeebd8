"""CLI verbs: train, cluster."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from hydrointerp.atomic import write_text
from hydrointerp.cli.app import app
from hydrointerp.cli.run_cmds import ForceStages, RunConfigArg, RunDir, SharedDir, Workers
from hydrointerp.data import region as region_io
from hydrointerp.data.mini import read_flowseason, read_mini
from hydrointerp.data.virtual import generate_region
from hydrointerp.pipeline import run_study
from hydrointerp.pipeline.model_stages import SKILL
from hydrointerp.pipeline.study import MODELS_DONE
from hydrointerp.plots.training import plot_cluster_patterns, plot_dendrogram
from hydrointerp.training.cluster import (
    cluster_features,
    cluster_stations,
    clusters_table,
    seasonal_flow,
)


@app.command()
def train(
    config: RunConfigArg,
    out: RunDir = None,
    shared: SharedDir = None,
    force: ForceStages = None,
    workers: Workers = None,
) -> None:
    """Train (or import) a study's models: the data, windows, clusters, ensemble, fine-tune and
    skill stages of ``hydrointerp run``, then stop.

    The run directory is the one ``hydrointerp run`` uses, with the same files (region.nc,
    normaliser.nc, clusters.csv, models/model_bulk_<i>.pt, models/model_fine_<i>_cluster_<k>.pt,
    train_log_*.csv, predictions.nc, skill.csv), so a later ``hydrointerp run`` on the same
    config and folder skips these stages and goes on with the experiments. Re-running resumes.

    Examples: ``hydrointerp train tiny``; ``hydrointerp train my_region.yaml --out runs/mine``.
    """
    log = run_study(config, out, shared, force or (), workers, until=MODELS_DONE)
    run_dir = out if out is not None else Path("runs") / log["name"]
    table = pd.read_csv(Path(run_dir) / SKILL)
    for column in [c for c in table.columns if c.startswith("nse_")]:
        nse = table[column]
        typer.echo(
            f"{column.removeprefix('nse_')}: median test NSE {nse.median():.3f}, "
            f"{100 * (nse > 0.8).mean():.0f}% of {nse.notna().sum()} stations NSE > 0.8"
        )
    typer.echo(f"finished in {log['seconds']:.1f} s: {run_dir}")


def _clustering_inputs(source: str):  # noqa: ANN202 - (DataArray, ndarray, ndarray)
    """``(flowseason, lat, lon)`` from a mini/shared folder (published ``flowseason_norm``), a
    region.nc file, or ``"virtual"`` (the default virtual region)."""
    path = Path(source)
    if source != "virtual" and path.is_dir():
        mini = read_mini(path, basin_masks=False)
        return read_flowseason(path), mini["station_lat"].values, mini["station_lon"].values
    if source == "virtual":
        region = generate_region()
    else:
        region = region_io.load(path)
    return seasonal_flow(region), region["station_lat"].values, region["station_lon"].values


@app.command()
def cluster(
    data: str = typer.Option(
        ..., "--data", help="Mini/shared folder (published flowseason), region.nc, or 'virtual'."
    ),
    n_clusters: int = typer.Option(6, "--n-clusters", help="Number of Ward clusters."),
    out: Path = typer.Option(Path("clusters.csv"), "--out", help="Output CSV."),
) -> None:
    """Cluster stations by seasonal flow and location (Ward), write a station -> cluster table.

    Writes OUT (columns station_id, cluster, cluster_name) and, beside it, OUT_dendrogram.png and
    OUT_patterns.png (clusters in space and each cluster's seasonal flows, HESS Fig 2).

    Example: ``hydrointerp cluster --data ../shared --n-clusters 6 --out clusters.csv``
    """
    fs, lat, lon = _clustering_inputs(data)
    clusters = cluster_stations(fs, lat, lon, n_clusters)
    write_text(out, clusters_table(clusters).to_csv(index=False))
    stem = out.with_suffix("")
    plot_dendrogram(cluster_features(fs, lat, lon), f"{stem}_dendrogram.png", n_clusters)
    plot_cluster_patterns(fs, clusters, lat, lon, f"{stem}_patterns.png")
    sizes = ", ".join(
        f"{name} {int((clusters.values == k).sum())}"
        for k, name in enumerate(clusters.attrs["cluster_names"])
    )
    typer.echo(f"{out}: {sizes}")
