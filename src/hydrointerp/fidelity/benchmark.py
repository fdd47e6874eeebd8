"""The attribution benchmark's table and what it says: methods × experiments × grades.

``benchmark.csv`` (written by :mod:`hydrointerp.pipeline.benchmark`) is every grade's
``fidelity.csv`` stacked, each row carrying its grade's facts (:data:`GRADE_COLUMNS`: the models'
median test NSE, bulk or fine-tuned, epochs, members, the region's glacial gauges). This module
reads the findings out of it, each from the skill intervals, never from a bare number:

* :func:`best_and_worst` — per grade and score, the best and the worst attribution method;
* :func:`skill_vs_nse` — whether a score's skill rises with the network's NSE across grades;
* :func:`trust` — per grade and experiment, how many scores pass and the verdict in words;
* :func:`decoding_rows` — Experiment 4's decoding verdict per grade with its controls;

Its figures are drawn by :mod:`hydrointerp.plots.benchmark`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hydrointerp.fidelity.skill import COLUMNS
from hydrointerp.fidelity.table import headline

BENCHMARK = "benchmark.csv"
GRADE_COLUMNS = (
    "grade",
    "ensemble",
    "members",
    "epochs",
    "condition",
    "median_nse",
    "share_nse_above_0.8",
    "n_stations",
    "n_glacial",
    "mean_glacier_fraction_glacial",
)
SCORE = ("experiment", "metric", "truth")


def read_benchmark(run_dir: str | Path) -> pd.DataFrame:
    """``RUN_DIR/benchmark.csv`` with empty cells as missing values."""
    return pd.read_csv(Path(run_dir) / BENCHMARK, keep_default_na=False, na_values=[""])


def passes(rows: pd.DataFrame) -> pd.Series:
    """A score a user may read: its whole skill interval above 0 and no flag."""
    flag = rows["flag"].fillna("").astype(str)
    return (rows["skill_low"] > 0) & (flag == "")


def scored(table: pd.DataFrame) -> pd.DataFrame:
    """The network's own rows with a skill (no references, no randomised networks, no
    per-regime subsets)."""
    rows = headline(table)
    rows = rows[np.isfinite(rows["skill"].astype(float))]
    return rows[~rows["experiment"].astype(str).str.contains(r"\[", regex=True)]


def is_condition(rows: pd.DataFrame) -> pd.Series:
    """True for the rows of a region condition (not a rung of the model-quality ladder)."""
    cond = rows["condition"]
    return cond.notna() & (cond.astype(str) != "")


def interval_text(row: pd.Series) -> str:
    """``skill [low, high]`` of one row, two decimals."""
    return f"{row['skill']:.2f} [{row['skill_low']:.2f}, {row['skill_high']:.2f}]"


def best_and_worst(table: pd.DataFrame) -> pd.DataFrame:
    """Per grade and score (experiment, metric, truth): the best and the worst method by skill,
    with intervals and flags; one method only: both are that method."""
    rows = []
    for key, g in scored(table).groupby(["grade", *SCORE], sort=False):
        g = g.sort_values("skill", ascending=False)
        best, worst = g.iloc[0], g.iloc[-1]
        rows.append(
            {
                **dict(zip(["grade", *SCORE], key, strict=True)),
                "n_methods": int(len(g)),
                "best": best["method"],
                "best_skill": interval_text(best),
                "best_passes": bool(passes(g.iloc[[0]]).iloc[0]),
                "worst": worst["method"],
                "worst_skill": interval_text(worst),
                "worst_flag": worst["flag"] if isinstance(worst["flag"], str) else "",
            }
        )
    return pd.DataFrame(rows)


def skill_vs_nse(table: pd.DataFrame) -> pd.DataFrame:
    """Per score and method, across the grades of the run's own region (no region condition):
    the skill at the lowest- and the highest-NSE grade, and the trend — ``rises`` when the
    highest grade's whole interval lies above the lowest grade's, ``falls`` when below,
    ``no clear change`` otherwise."""
    rows = []
    ladder = scored(table)
    ladder = ladder[~is_condition(ladder)]
    for key, g in ladder.groupby([*SCORE, "method"], sort=False):
        g = g.sort_values("median_nse")
        if len(g) < 2:
            continue
        lo, hi = g.iloc[0], g.iloc[-1]
        if hi["skill_low"] > lo["skill_high"]:
            trend = "rises"
        elif hi["skill_high"] < lo["skill_low"]:
            trend = "falls"
        else:
            trend = "no clear change"
        varies = g["skill"].nunique() > 1 and g["median_nse"].nunique() > 1
        rho = (
            pd.Series(g["skill"].to_numpy()).corr(
                pd.Series(g["median_nse"].to_numpy()), method="spearman"
            )
            if varies
            else np.nan
        )
        rows.append(
            {
                **dict(zip([*SCORE, "method"], key, strict=True)),
                "grades": " < ".join(f"{r.grade} ({r.median_nse:.2f})" for r in g.itertuples()),
                "skill_lowest_nse": interval_text(lo),
                "skill_highest_nse": interval_text(hi),
                "spearman_skill_nse": float(rho),
                "trend": trend,
            }
        )
    return pd.DataFrame(rows)


def trust(table: pd.DataFrame) -> pd.DataFrame:
    """Per grade and experiment: scores that pass out of all, the best passing score, and the
    verdict for a user (``usable`` when at least one score passes, else ``cannot be trusted``)."""
    rows = []
    for (grade, exp), g in scored(table).groupby(["grade", "experiment"], sort=False):
        ok = g[passes(g)]
        best = ok.sort_values("skill", ascending=False).head(1)
        label = (
            f"{best.iloc[0]['method']}: {best.iloc[0]['metric']} [{best.iloc[0]['truth']}]"
            f" {interval_text(best.iloc[0])}"
            if len(best)
            else ""
        )
        rows.append(
            {
                "grade": grade,
                "median_nse": float(g["median_nse"].iloc[0]),
                "experiment": exp,
                "passing": f"{len(ok)} of {len(g)}",
                "best_passing": label,
                "verdict": "usable" if len(ok) else "cannot be trusted",
            }
        )
    return pd.DataFrame(rows)


def decoding_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Experiment 4's decoding per grade: ΔR² beyond the controls for each unit set, with the
    skill against random units and its flag."""
    d = table[table["experiment"].astype(str).str.startswith("cell_states_decoding")]
    facts = ["grade", "median_nse", "n_glacial", "mean_glacier_fraction_glacial"]
    scores = COLUMNS[COLUMNS.index("baseline") : COLUMNS.index("flag") + 1]
    cols = [*facts, "experiment", "method", "value", *scores]
    return d[[c for c in cols if c in d]].reset_index(drop=True)
