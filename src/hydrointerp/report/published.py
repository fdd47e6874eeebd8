"""Our reproduced values next to the published ones (METHODS.md sections 3, 4, 5.3, 6.0, 6.4).

Only values the mini year (2011) supports are compared. The published skill is over the test
period 2011-2015; the mini year holds its first year, so the numbers are close but not equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.region import glacier_class_masks
from hydrointerp.report import html as h

#: Published values with their source in METHODS.md.
PUBLISHED = {
    "bulk_median_nse": (0.66, "§4, test 2011–2015, ensemble-mean NSE"),
    "fine_median_nse": (0.68, "§4 / HESS abstract, test 2011–2015"),
    "fine_share_above_08": (0.35, "HESS abstract, test 2011–2015"),
    "cluster_sizes": ("52 / 62 / 34 / 12 / 39 / 27", "§3, Central … North-Eastern"),
    "regimes": ("glacial 45 / nival 169 / pluvial 12", "§6.0, G > 1 %, Coastal = pluvial"),
    "station_nse": (
        {"08ME023": 0.94, "08NN002": 0.87, "08HB002": 0.59},
        "§4 example stations, fine ensemble, test 2011–2015",
    ),
}
_ORDER = ["Central", "Southern", "Eastern", "Coastal", "North-Western", "North-Eastern"]


def _skill(run: Path) -> pd.DataFrame | None:
    path = run / "skill.csv"
    return pd.read_csv(path, dtype={"station_id": str}) if path.is_file() else None


def _clusters(run: Path) -> pd.DataFrame | None:
    path = run / "clusters.csv"
    return pd.read_csv(path, dtype={"station_id": str}) if path.is_file() else None


def _exp(run: Path, name: str) -> xr.Dataset | None:
    path = run / "experiments" / f"{name}.nc"
    return xr.load_dataset(path, engine="h5netcdf") if path.is_file() else None


def _skill_rows(run: Path) -> list[list[Any]]:
    skill = _skill(run)
    if skill is None:
        return []
    rows = []
    why = "mini year = 2011 only (first of the 5 test years)"
    for kind in ("bulk", "fine"):
        col = f"nse_{kind}"
        if col in skill:
            pub, src = PUBLISHED[f"{kind}_median_nse"]
            rows.append([f"{kind} ensemble median NSE", pub, float(skill[col].median()), src, why])
    if "nse_fine" in skill:
        pub, src = PUBLISHED["fine_share_above_08"]
        share = float((skill["nse_fine"] > 0.8).mean())
        rows.append(["fine: share of stations NSE > 0.8", pub, share, src, why])
        named, src = PUBLISHED["station_nse"]
        by_id = skill.set_index("station_id")["nse_fine"]
        for sid, pub in named.items():
            if sid in by_id:
                rows.append([f"fine NSE at {sid}", pub, float(by_id[sid]), src, why])
    return rows


def _structure_rows(run: Path) -> list[list[Any]]:
    rows: list[list[Any]] = []
    cl = _clusters(run)
    if cl is not None and "cluster_name" in cl:
        sizes = cl["cluster_name"].value_counts()
        ours = " / ".join(str(int(sizes.get(n, 0))) for n in _ORDER)
        pub, src = PUBLISHED["cluster_sizes"]
        rows.append(["cluster sizes", pub, ours, src, "same Ward clustering: should match"])
        region = run / "region.nc"
        if region.is_file():
            with xr.open_dataset(region, engine="h5netcdf") as ds:
                g = pd.Series(ds["glacier_fraction"].values, index=ds["station"].values.astype(str))
            names = cl.set_index("station_id")["cluster_name"].reindex(g.index)
            glacial = g > 0.01
            pluvial = (names == "Coastal") & ~glacial
            ours = (
                f"glacial {int(glacial.sum())} / nival {int((~glacial & ~pluvial).sum())}"
                f" / pluvial {int(pluvial.sum())}"
            )
            pub, src = PUBLISHED["regimes"]
            rows.append(["regime groups", pub, ours, src, "same rule: should match"])
    return rows


def _experiment_rows(run: Path) -> list[list[Any]]:
    rows: list[list[Any]] = []
    cs = _exp(run, "cell_states")
    if cs is not None:
        a = cs.attrs
        rows.append(
            [
                "Exp 4: selected cell-state units (10 Central models)",
                "on the order of 100",
                a.get("n_selected_units"),
                "§6.4",
                "exact count held back by the authors",
            ]
        )
        rows.append(
            [
                "Exp 4: best lag of T residual vs state residual",
                "about 2 days",
                a.get("best_lag"),
                "§6.4",
                "default aligns T with the states; the published +1-day shift"
                " (cell_states setting published_shift) gives 2",
            ]
        )
        rows.append(
            [
                "Exp 4: mean rolling r, 15 Jun–15 Sep vs other",
                "clearly higher in melt season",
                f"{_f(a.get('melt_season_mean_correlation'))} vs "
                f"{_f(a.get('other_mean_correlation'))}",
                "§6.4",
                "",
            ]
        )
    au = _exp(run, "august")
    if au is not None and "slope" in au and "glacier_fraction" in au:
        g = au["glacier_fraction"].values
        s = au["slope"].values
        classes = glacier_class_masks(g).values()
        med = " / ".join(_f(np.nanmedian(s[c])) if c.any() else "–" for c in classes)
        rows.append(
            [
                "August dQ/dT median by glacier class (0, ≤1, ≤10, >10 %)",
                "rises with glacier cover",
                med,
                "§5.3 / HESS Fig 11",
                "",
            ]
        )
    hm = _exp(run, "heat_map")
    if hm is not None and "ks_d" in hm:
        d = " / ".join(_f(v) for v in np.atleast_1d(hm["ks_d"].values))
        rows.append(
            [
                "Heat maps: D (in/near vs far) per cluster",
                "D > 0 in every cluster",
                d,
                "§5.1",
                "mini: 100 masks per day as published",
            ]
        )
    return rows


def _daily_rows(run: Path) -> list[list[Any]]:
    """Experiment 1: the high-flow pattern sits in/near the basins, the low-flow one farther."""
    ds = _exp(run, "sensitivity_daily")
    if ds is None or "pattern_map" not in ds:
        return []
    from hydrointerp.experiments.daily import pattern_contrast

    contrast = pattern_contrast(ds)
    high, low = contrast.sel(flow_pattern="high_flow"), contrast.sel(flow_pattern="low_flow")
    names = ds["cluster_name"].values if "cluster_name" in ds.coords else ds["cluster"].values
    per_cluster = ", ".join(
        f"{n} {_f(a)} vs {_f(b)}" for n, a, b in zip(names, high.values, low.values, strict=True)
    )
    signed = ds["pattern_ks_d"] * ds.get("pattern_ks_sign", 1.0)
    d_text = ", ".join(
        f"{n} {_f(a)} / {_f(b)}"
        for n, a, b in zip(
            names,
            signed.sel(flow_pattern="high_flow").values,
            signed.sel(flow_pattern="low_flow").values,
            strict=True,
        )
    )
    statement = "high flow: sensitivity in/near the basins; quiet periods: far field"
    rule = "pattern rule: prototype location clustering (open question 10.1)"
    return [
        [
            "Exp 1: clusters whose high-flow pattern is more in/near than the low-flow one "
            "(in/near − far median of the pattern map, high vs low)",
            statement,
            f"{int((high > low).sum())} of {high.size}: {per_cluster}",
            "§6.1 (Frontiers abstract)",
            rule,
        ],
        [
            "Exp 1: D of the high-flow / low-flow pattern per cluster"
            + (" (signed)" if "pattern_ks_sign" in ds else " (unsigned)"),
            statement,
            d_text,
            "§6.1",
            rule,
        ],
    ]


def _channel_rows(run: Path) -> list[list[Any]]:
    """Experiment 2: the seasons in which temperature or precipitation matters more."""
    ds = _exp(run, "channel_importance")
    if ds is None or "s_temperature" not in ds:
        return []
    from hydrointerp.experiments.channels import seasonal_dominance
    from hydrointerp.experiments.curves import rise_day

    dom = seasonal_dominance(ds)
    regime = pd.Series(ds["group_regime"].values, index=ds["group"].values).str.lower()
    spring = dom["t_minus_p_spring"].to_series()
    snowy = spring[regime.isin(["glacial", "nival"]).reindex(spring.index).values]
    rise_t = rise_day(ds["s_temperature"]).to_series().reindex(snowy.index)
    rise_p = rise_day(ds["s_precipitation"]).to_series().reindex(snowy.index)
    rows = [
        [
            "Exp 2: nival and glacial groups whose S_T reaches 0.5 before S_P (day of year)",
            "temperature leads precipitation in spring",
            f"{int((rise_t < rise_p).sum())} of {len(snowy)}: "
            + ", ".join(f"{g} {int(rise_t[g]) + 1} vs {int(rise_p[g]) + 1}" for g in snowy.index),
            "§6.2 / Frontiers Fig 5",
            "curves scaled 0..1 per group, 7-day smoothing (inferred)",
        ],
        [
            "Exp 2: nival and glacial groups with S_T > S_P in spring (Mar–Jun mean S_T − S_P)",
            "temperature leads precipitation in spring",
            f"{int((snowy > 0).sum())} of {len(snowy)}: "
            + ", ".join(f"{g} {_f(v)}" for g, v in snowy.items()),
            "§6.2 / Frontiers Fig 5",
            "curves scaled 0..1 per group, 7-day smoothing (inferred)",
        ],
    ]
    for reg, season, months, text in (
        ("glacial", "late_summer", "Aug–Sep", "precipitation dominates late summer (glacial)"),
        ("pluvial", "cold", "Oct–Feb", "precipitation dominates fall and winter (Coastal)"),
    ):
        groups = regime.index[regime.values == reg]
        if len(groups):
            vals = dom[f"t_minus_p_{season}"].sel(group=list(groups)).values
            rows.append(
                [
                    f"Exp 2: {reg} mean S_T − S_P, {months} (< 0: precipitation dominates)",
                    text,
                    ", ".join(f"{g} {_f(v)}" for g, v in zip(groups, vals, strict=True)),
                    "§6.2 / Frontiers Fig 5",
                    "",
                ]
            )
    return rows


def _f(value: Any) -> str:
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return "–"


def published_section(run: Path) -> str:
    """The 'published values' report section (an empty-state note when nothing ran)."""
    rows = _skill_rows(run) + _structure_rows(run) + _experiment_rows(run)
    rows += _daily_rows(run) + _channel_rows(run)
    body = h.note(
        "Reproduced with the published models and the published mini year. The published skill"
        " is over the full test period 2011–2015, the mini year holds only 2011, so skill values"
        " differ a little; structure (clusters, regimes) should match exactly; the"
        " interpretation findings are compared by their published statement."
    )
    if not rows:
        return h.section(
            "published",
            "Reproduced vs published",
            body + h.note("No reproduced values yet.", missing=True),
        )
    header = ["quantity", "published", "reproduced", "published source", "why they may differ"]
    return h.section("published", "Reproduced vs published", body + h.table(header, rows))
