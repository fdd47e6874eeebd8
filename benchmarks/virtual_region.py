"""Benchmark: generating the default virtual region, and the vectorised hydrology vs a loop.

1. Times ``generate_region`` for the default configuration (12 x 32 cells, 1 + 12 years,
   60 stations); target: under 10 s on a 2-core machine.
2. Runs one year of hydrology for a few basins twice: the vectorised model (all gauged cells at
   once, numpy) and a straightforward reference (a Python loop over cells and days with scalar
   arithmetic written out here), from the same storages. Checks both give the same flow and
   prints the speed-up per cell-day.
3. Times a perturbation sweep of the SimulatorPredictor with and without sharing the cells whose
   frames equal perturbation 0's, and checks both predictions are identical.

Exits non-zero if any pair of numbers differs.

Usage: ``python benchmarks/virtual_region.py [--seed 1]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from hydrointerp.data.virtual import (
    RegionSimulator,
    SimulatorPredictor,
    VirtualRegionConfig,
    generate_region,
)


def reference_cell(cfg: VirtualRegionConfig, weather: np.ndarray, glacier: float, state0: tuple):
    """One cell, one day at a time, plain Python floats. Returns runoff [day, source] (mm/day)."""
    swe, fast, slow = state0[0], list(state0[1]), list(state0[2])
    out = []
    for tmax, tmin, precip in weather:
        day = [0.0, 0.0, 0.0]
        for k in range(3):
            qf = cfg.fast_rate_per_day * fast[k]
            qs = cfg.slow_rate_per_day * slow[k]
            fast[k] -= qf
            slow[k] -= qs
            day[k] = qf + qs
        temp = 0.5 * (tmax + tmin) - 273.15
        share = min(max((cfg.t_rain_c - temp) / (cfg.t_rain_c - cfg.t_snow_c), 0.0), 1.0)
        snow = precip * share
        rain = precip - snow
        swe += snow
        dd = max(temp - cfg.t_melt_c, 0.0)
        melt = min(swe, cfg.ddf_snow_mm_per_k * dd)
        swe -= melt
        ice = glacier * cfg.ddf_ice_mm_per_k * dd if swe <= 0.0 else 0.0
        if glacier > 0.0 and swe > cfg.snow_cap_mm:
            swe -= swe - cfg.snow_cap_mm  # the excess becomes firn
        for k, water in enumerate((rain, melt, ice)):
            fast[k] += (1.0 - cfg.slow_share) * water
            slow[k] += cfg.slow_share * water
        held = sum(fast)
        evap = min(cfg.pet_mm_per_k * max(temp, 0.0), held)
        if held > 0.0:
            keep = 1.0 - evap / held
            fast = [f * keep for f in fast]
        out.append(day)
    return np.asarray(out)


def reference_flow(
    sim: RegionSimulator, stations: list[int], weather: np.ndarray, state
) -> np.ndarray:  # noqa: ANN001
    """Flow [day, station, source] (m3/s) of ``stations`` with the loop model."""
    cells = sim.cells(weather)
    flow = np.zeros((weather.shape[0], len(stations), 3))
    for n in range(sim.n_cells):
        w = sim.weights[n, stations]
        if not np.any(w > 0):
            continue
        s0 = (float(state.swe[n]), state.fast[:, n].tolist(), state.slow[:, n].tolist())
        runoff = reference_cell(sim.config, cells[:, n].tolist(), float(sim.model.glacier[n]), s0)
        flow += runoff[:, None, :] * w[None, :, None]
    return flow


def main() -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(2)

    began = time.perf_counter()
    region = generate_region(VirtualRegionConfig(seed=args.seed))
    gen_s = time.perf_counter() - began
    print(
        f"generate_region (default: 12x32, 1+12 years, 60 stations): {gen_s:.2f} s"
        f" (target < 10 s: {'ok' if gen_s < 10 else 'MISSED'})"
    )

    sim = RegionSimulator(region)
    day0 = 365
    weather = region["weather"].values[day0 : day0 + 365]
    state = sim.state_at(day0)
    began = time.perf_counter()
    fast, _ = sim.run(weather, initial_state=state)
    fast_s = time.perf_counter() - began
    regimes = region["regime"].values
    stations = [
        int(s)
        for r in ("glacial", "nival", "pluvial", "plains")
        for s in np.flatnonzero(regimes == r)[:3]
    ]
    began = time.perf_counter()
    ref = reference_flow(sim, stations, weather, state)
    ref_s = time.perf_counter() - began
    ref_cells = int((sim.weights[:, stations] > 0).any(axis=1).sum())
    per_fast = fast_s / (365 * sim.n_cells)
    per_ref = ref_s / (365 * ref_cells)
    print(f"vectorised: {sim.n_cells} cells x 365 days in {fast_s:.3f} s")
    print(f"reference loop: {ref_cells} cells ({len(stations)} basins) x 365 days in {ref_s:.3f} s")
    print(f"speed-up per cell-day: {per_ref / per_fast:.1f}x")
    diff = float(np.max(np.abs(fast[:, stations] - ref)))
    scale = float(np.max(np.abs(ref)))
    print(f"max |vectorised - reference| = {diff:.3e} m3/s (flows up to {scale:.1f} m3/s)")
    if not np.allclose(fast[:, stations], ref, rtol=1e-9, atol=1e-9 * scale):
        print("FAIL: the vectorised and reference hydrology differ")
        return 1
    return sweep(region)


def sweep(region) -> int:  # noqa: ANN001
    """A perturbation sweep (one warmed cell per perturbation) with and without sharing."""
    shared = SimulatorPredictor.from_region(region, lookback=365)
    brute = SimulatorPredictor.from_region(region, lookback=365, share_identical=False)
    frames = shared.normalise_weather(region["weather"].values[:1095])[None]
    rows, cols = shared.sim.rows, shared.sim.cols
    n_p = 24
    batch = np.repeat(frames, n_p, axis=0)
    for p in range(1, n_p):
        batch[p, :, rows[p], cols[p], :2] += 0.5
    targets = np.arange(730, 1095, 73)
    shared.sim.states()  # the unperturbed run is cached once per predictor; time it apart
    brute.sim.states()
    began = time.perf_counter()
    a = shared.predict_block(batch, targets).numpy()
    shared_s = time.perf_counter() - began
    began = time.perf_counter()
    b = brute.predict_block(batch, targets).numpy()
    brute_s = time.perf_counter() - began
    print(
        f"predictor sweep ({n_p} perturbations x {targets.size} targets x 365-day windows): "
        f"shared {shared_s:.2f} s, every cell {brute_s:.2f} s, ratio {brute_s / shared_s:.1f}x"
    )
    if not np.array_equal(a, b):
        print("FAIL: sharing identical cells changed the predictions")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
