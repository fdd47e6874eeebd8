"""CLI verbs: train, cluster."""

from __future__ import annotations

from pathlib import Path

import typer

from hydrointerp.cli.app import app
from hydrointerp.training.config import load_config
from hydrointerp.training.run import run_clustering, run_training


@app.command()
def train(
    config: Path = typer.Argument(..., help="YAML run configuration (unknown keys are errors)."),
    out: Path | None = typer.Option(
        None, "--out", help="Run directory (default: the config's out_dir, else runs/<name>)."
    ),
) -> None:
    """Train a CNN-LSTM ensemble (and per-cluster fine-tunes) from a YAML config.

    The run directory receives config.yaml, normaliser.nc, checkpoints/, models/member_*.pt,
    train_log_member_*.csv, metrics_bulk.csv/.nc (test years) and figures/. Re-running the same
    command resumes from the checkpoints.

    Example: ``hydrointerp train configs/train_demo.yaml --out runs/demo``
    """
    cfg = load_config(config)
    run_dir = out or Path(cfg.out_dir or Path("runs") / cfg.name)
    result = run_training(cfg, run_dir)
    for kind, s in result.summaries.items():
        typer.echo(
            f"{kind}: median test NSE {s['median_nse']:.3f}, median KGE {s['median_kge']:.3f}, "
            f"{100 * s['share_nse_above_0.8']:.0f}% of {s['n_stations']} stations NSE > 0.8"
        )
    typer.echo(f"run directory: {result.run_dir}")


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
    clusters = run_clustering(data, n_clusters, out)
    sizes = ", ".join(
        f"{name} {int((clusters.values == k).sum())}"
        for k, name in enumerate(clusters.attrs["cluster_names"])
    )
    typer.echo(f"{out}: {sizes}")
