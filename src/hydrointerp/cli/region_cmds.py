"""CLI verbs: region (the virtual region generator)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from hydrointerp.cli.app import app
from hydrointerp.data.region import save
from hydrointerp.data.twin import TwinConfig, generate_twin
from hydrointerp.data.virtual import VirtualRegionConfig, generate_region
from hydrointerp.plots.region import save_region_figures


@app.command("virtual-region")
def virtual_region(
    out: Path = typer.Option(..., "--out", help="NetCDF file to write (atomically)."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same file."),
    years: int = typer.Option(12, "--years", min=1, help="Years after the spin-up year."),
    stations: int = typer.Option(60, "--stations", min=1, help="Number of gauged basins."),
    noise: float = typer.Option(0.0, "--noise", min=0.0, help="Relative noise on flow."),
    missing: float = typer.Option(
        0.0, "--missing", min=0.0, max=0.95, help="Share of flow days missing."
    ),
    figures: Path | None = typer.Option(
        None, "--figures", help="Folder for region_map.png and regime_hydrographs.png."
    ),
    shared: Path | None = typer.Option(
        None, "--shared", help="Shared data folder (province borders on the map)."
    ),
    twin: bool = typer.Option(
        False,
        "--twin",
        help="The twin of the published region (226 real gauges, 1979-2015 unless --first-year/"
        "--last-year); --seed applies, --years/--stations/--noise/--missing do not.",
    ),
    first_year: int = typer.Option(1979, "--first-year", help="Twin: first year."),
    last_year: int = typer.Option(2015, "--last-year", help="Twin: last year."),
) -> None:
    """Generate the virtual region (process simulator with known truth) as a RegionData file.

    The file holds daily weather, flow, basins and the truth: flow by source (rain, snowmelt,
    glacier melt), regime, glacier cover and elevation.

    Example: ``hydrointerp virtual-region --out region.nc --seed 1 --figures figures/``;
    the twin of the published region: ``hydrointerp virtual-region --twin --out twin.nc``.
    """
    began = time.perf_counter()
    if twin:
        tcfg = TwinConfig(seed=seed, first_year=first_year, last_year=last_year)
        region = generate_twin(tcfg, None if shared is None else str(shared))
    else:
        cfg = VirtualRegionConfig(
            seed=seed, n_years=years, n_stations=stations, noise_sd=noise, missing_fraction=missing
        )
        region = generate_region(cfg)
    path = save(region, out)
    seconds = time.perf_counter() - began
    counts = ", ".join(
        f"{r} {int((region['regime'].values == r).sum())}"
        for r in sorted(set(region["regime"].values))
    )
    typer.echo(
        f"wrote {path} ({region.sizes['time']} days, {region.sizes['station']} stations: "
        f"{counts}) in {seconds:.1f} s"
    )
    if figures is not None:
        for fig in save_region_figures(region, figures, None if shared is None else str(shared)):
            typer.echo(f"wrote {fig}")
