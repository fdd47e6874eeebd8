"""Scorers of Experiment 4: the cell-state pattern and the decoding control."""

from __future__ import annotations

import numpy as np
import xarray as xr

from hydrointerp.fidelity.bundle import Bundle, rows_for
from hydrointerp.fidelity.curve_scores import august_cosine
from hydrointerp.fidelity.skill import ScoreRow, reference_row
from hydrointerp.fidelity.truth import glacial_melt


def _block_days(n: int, block: int = 30) -> np.ndarray:
    return np.arange(n) // block


def score_cell_states(b: Bundle) -> list[ScoreRow]:
    """Experiment 4: correlation of the glacier-runoff cell-state pattern with the true
    glacier melt in 30-day blocks (the unit of the bootstrap), against a cosine peaking on
    1 August and the pattern an untrained network's selection gives."""
    if b.region is None or "flow_component" not in b.region:
        return []
    ds = b.model.get("perturbation")
    if ds is None or "pattern" not in ds:
        return []
    melt = glacial_melt(b.region)
    pat, m = xr.align(ds["pattern"], melt, join="inner")
    if pat.sizes["time"] < 60:
        return []
    block = xr.DataArray(
        _block_days(pat.sizes["time"]), dims="time", coords={"time": pat["time"]}, name="block"
    )

    def z(x: xr.DataArray) -> xr.DataArray:
        s = x.std("time")
        return (x - x.mean("time")) / s.where(s > 0, 1.0)

    zm = z(m)

    def by_block(x: xr.DataArray) -> xr.DataArray:
        """Mean squared difference from the z-scored true melt, per 30-day block."""
        x, t = xr.align(x, zm, join="inner")
        return ((x - t) ** 2).groupby(block.sel(time=x["time"])).mean()

    base = {"august_cosine": z(august_cosine(pat)), "constant": xr.zeros_like(pat)}
    unt = b.controls.get("random_all")
    if unt is not None and "pattern" in unt:
        base["untrained"] = z(unt["pattern"].fillna(0.0))
    return rows_for(
        b,
        b.name,
        "perturbation",
        "glacier_melt",
        [z(pat.fillna(0.0))],
        base,
        zm,
        {},
        by_block,
        "melt_pattern_mse",
        "block",
        False,
        "1",
        True,
    )


def score_decoding(b: Bundle) -> list[ScoreRow]:
    """Experiment 4 with controls: the glacier melt the cell states add beyond the seasonal
    cycle, temperature memory and snowmelt (leave-one-year-out ``delta_r2``, units = years),
    for the published selection and for all units, against random units of the same count and
    an untrained network's units; the ceiling is everything the controls leave unexplained."""
    ds = b.model.get("perturbation")
    if ds is None or "delta_r2" not in ds:
        return []
    delta = ds["delta_r2"]
    ceiling = 1.0 - ds["r2_controls"]
    base = {
        "controls_only": xr.zeros_like(ceiling),
        "random_units": delta.sel(unit_set="random_units", drop=True),
        "untrained": delta.sel(unit_set="untrained", drop=True),
    }
    rows: list[ScoreRow] = []
    for unit_set in ("selected", "all_units"):
        rows += _delta_rows(
            b,
            "cell_states_decoding",
            unit_set,
            delta.sel(unit_set=unit_set, drop=True),
            base,
            ceiling,
        )
    rows += _condition_rows(b, ds)
    for unit_set in ("random_units", "untrained"):
        rows.append(
            reference_row(
                "cell_states_decoding",
                f"reference:{unit_set}",
                "delta_r2",
                "glacier_melt",
                delta.sel(unit_set=unit_set, drop=True),
                "year",
                n_boot=b.n_boot,
            )
        )
    rows.append(
        reference_row(
            "cell_states_decoding",
            "reference:controls",
            "r2",
            "glacier_melt",
            ds["r2_controls"],
            "year",
            n_boot=b.n_boot,
        )
    )
    return rows


def _delta_rows(
    b: Bundle,
    experiment: str,
    method: str,
    delta: xr.DataArray,
    baselines: dict[str, xr.DataArray],
    ceiling: xr.DataArray,
) -> list[ScoreRow]:
    """The skill rows of one decoding gain ``delta(year)`` (higher is better, units: years)."""
    return rows_for(
        b,
        experiment,
        method,
        "glacier_melt",
        [delta],
        baselines,
        ceiling,
        {},
        lambda x: x,
        "delta_r2",
        "year",
        True,
        "1",
        True,
    )


def _condition_rows(b: Bundle, ds: xr.Dataset) -> list[ScoreRow]:
    """Experiment 4 under conditions (docs/benchmark.md): the decoding on the melt of the low-
    and the high-cover half of the glacial gauges, and the published selection made with only
    ``n`` of the cluster's glacial gauges (mean over draws), each against random units of the
    same count."""
    rows: list[ScoreRow] = []
    if "delta_r2_cover" in ds and np.isfinite(ds["delta_r2_cover"]).any():
        for cover in ds["cover"].values:
            d = ds["delta_r2_cover"].sel(cover=cover, drop=True)
            ceiling = 1.0 - ds["r2_controls_cover"].sel(cover=cover, drop=True)
            frac = float(ds["cover_glacier_fraction"].sel(cover=cover))
            name = f"cell_states_decoding[{cover} glacier cover, mean {frac:.2f}]"
            base = {"random_units": d.sel(cover_unit_set="random_units", drop=True)}
            for unit_set in ("selected", "all_units"):
                rows += _delta_rows(
                    b, name, unit_set, d.sel(cover_unit_set=unit_set, drop=True), base, ceiling
                )
    if "delta_r2_gauges" in ds:
        ceiling = 1.0 - ds["r2_controls"]
        for n in ds["n_glacial_gauges"].values:
            d = ds["delta_r2_gauges"].sel(n_glacial_gauges=n, drop=True).mean("gauge_draw")
            r = ds["delta_r2_gauges_random"].sel(n_glacial_gauges=n, drop=True)
            base = {"random_units": r.mean("gauge_draw")}
            name = f"cell_states_decoding[{int(n)} glacial gauges]"
            rows += _delta_rows(b, name, "selected", d, base, ceiling)
    return rows
