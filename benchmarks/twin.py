"""Generate the full 37-year twin (1979-2015 plus a spin-up year): time, peak memory, acceptance.

Prints the wall and CPU time and the peak resident memory of :func:`generate_twin` (no separate
fast path, so no reference ratio), then the real-vs-twin weather table and the flow acceptance
numbers of ``docs/virtual_region.md``.

    PYTHONPATH=src python benchmarks/twin.py [--first-year 1979] [--last-year 2015] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--first-year", type=int, default=1979)
    parser.add_argument("--last-year", type=int, default=2015)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", default=None)
    args = parser.parse_args()
    from hydrointerp.data.mini import read_flowseason, read_mini
    from hydrointerp.data.twin import TwinConfig, generate_twin, published_clusters
    from hydrointerp.data.twin_checks import (
        channel_statistics,
        flow_checks,
        flow_magnitude,
        salmon_runoff_ratio,
        weather_table,
    )
    from hydrointerp.data.twin_weather import physical_weather, precip_scale
    from hydrointerp.shared import find_shared

    cfg = TwinConfig(seed=args.seed, first_year=args.first_year, last_year=args.last_year)
    began, cpu = time.perf_counter(), time.process_time()
    twin = generate_twin(cfg, args.shared)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"generate_twin {args.first_year}-{args.last_year}: {twin.sizes['time']} days, "
        f"{twin.sizes['station']} stations in {seconds:.1f} s wall ({cpu:.1f} s CPU); "
        f"peak RSS {peak_gb:.2f} GB"
    )
    root = find_shared(args.shared)
    mini = read_mini(root, basin_masks=False)
    real, dates = physical_weather(mini, precip_scale(root / "data", mini))
    lat, lon = mini["lat"].values, mini["lon"].values
    twin_w = twin["weather"].sel(channel=["tmax", "tmin", "precip"]).values
    twin_dates = pd.DatetimeIndex(twin["time"].values)
    table = weather_table(
        channel_statistics(real, dates, lat, lon),
        channel_statistics(twin_w, twin_dates, lat, lon),
    )
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(table.round(3).to_string(index=False))
    print(f"weather statistics within tolerance: {int(table['pass'].sum())}/{len(table)}")
    flow = flow_checks(twin, read_flowseason(root), published_clusters(root))
    print(
        f"seasonal-cycle corr: median {flow['corr_median']:.3f}, "
        f">= 0.7 for {100 * flow['share_corr_ge_0.7']:.1f} % of gauges, "
        f"5th pct {np.percentile(flow['corr'], 5):.3f}"
    )
    print(f"regimes {flow['regimes']} (published glacial 45, nival 169, pluvial 12)")
    print(f"adjusted Rand index vs published clusters: {flow['ari']:.3f}")
    print(f"water balance: max |residual| / precip over basins {flow['water_balance_max_rel']:.2e}")
    wsc = root / "data" / "wsc_daily_flow" / "wsc_daily_flow_7stations_1979_2015.csv"
    magnitude = flow_magnitude(twin, wsc)
    print("mean flow, twin vs real WSC 1979-2015 (m3/s), and both runoffs over the twin's")
    print("ERA5-scale basin precipitation:")
    with pd.option_context("display.width", 120):
        print(magnitude.round(2).to_string(index=False))
    salmon = salmon_runoff_ratio(root / "data")
    print(
        f"Salmon River 1981-2010: runoff {salmon['runoff_mm_day']:.2f} mm/day = "
        f"{salmon['q_over_era5']:.2f} of ERA5 {salmon['era5_mm_day']:.2f}, "
        f"{salmon['q_over_station']:.2f} of station {salmon['station_mm_day']:.2f} mm/day"
    )


if __name__ == "__main__":
    main()
