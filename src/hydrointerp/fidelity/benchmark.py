"""The attribution benchmark's table and what it says: methods × experiments × grades.

``benchmark.csv`` (written by :mod:`hydrointerp.pipeline.benchmark`) is every grade's
``fidelity.csv`` stacked, each row carrying its grade's facts (:data:`GRADE_COLUMNS`: the models'
median test NSE, bulk or fine-tuned, epochs, members, the region's glacial gauges). This module
reads the findings out of it, each from the skill intervals, never from a bare number:

* :func:`best_and_worst` — per grade and score, the best and the worst attribution method;
* :func:`skill_vs_nse` — whether a score's skill rises with the network's NSE across grades;
* :func:`trust` — per grade and experiment, how many scores pass and the verdict in words;
* :func:`decoding_rows` — Experiment 4's decoding verdict per grade with its controls;
* :func:`write_figures` — skill against NSE per score, and the methods side by side.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hydrointerp.fidelity.skill import COLUMNS  # noqa: E402
from hydrointerp.fidelity.table import headline  # noqa: E402
from hydrointerp.plots.save import save_figure  # noqa: E402

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


def _interval(row: pd.Series) -> str:
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
                "best_skill": _interval(best),
                "best_passes": bool(passes(g.iloc[[0]]).iloc[0]),
                "worst": worst["method"],
                "worst_skill": _interval(worst),
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
                "skill_lowest_nse": _interval(lo),
                "skill_highest_nse": _interval(hi),
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
            f" {_interval(best.iloc[0])}"
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


# ------------------------------------------------------------------------------ figures
def _panel_keys(rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    keys = rows[list(SCORE)].drop_duplicates()
    return [tuple(k) for k in keys.itertuples(index=False)]


def plot_skill_vs_nse(table: pd.DataFrame) -> plt.Figure:
    """One panel per score: skill (dot) and 95 % interval (bar) against each grade's median NSE,
    one line per method; 0 = the best trivial explainer, 1 = the noise ceiling; hollow markers
    are region conditions, not model grades."""
    rows = scored(table)
    keys = _panel_keys(rows)
    ncol = 4
    nrow = max(1, -(-len(keys) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.7 * nrow), squeeze=False)
    methods = sorted(rows["method"].unique())
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
    for ax, key in zip(axes.flat, keys, strict=False):
        sel = rows[(rows[list(SCORE)] == pd.Series(key, index=list(SCORE))).all(axis=1)]
        for method, g in sel.groupby("method"):
            g = g.sort_values("median_nse")
            skill = g["skill"].clip(-1.5, 1.5)
            err = np.vstack(
                [
                    (skill - g["skill_low"].clip(-1.5, 1.5)).clip(lower=0),
                    (g["skill_high"].clip(-1.5, 1.5) - skill).clip(lower=0),
                ]
            )
            region = is_condition(g).to_numpy()
            c = colours[method]
            ax.errorbar(g["median_nse"], skill, yerr=err, color=c, fmt="none", lw=1, capsize=2)
            ax.plot(g["median_nse"][~region], skill[~region], "o-", color=c, ms=4, label=method)
            ax.plot(g["median_nse"][region], skill[region], "o", mfc="none", color=c, ms=6)
        ax.axhline(0, color="k", ls="--", lw=0.7)
        ax.axhline(1, color="k", ls=":", lw=0.7)
        ax.set_ylim(-1.6, 1.6)
        ax.set_title(f"{key[0]}\n{key[1]} [{key[2]}]", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("median test NSE of the grade", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("skill (clipped to ±1.5)", fontsize=8)
    legend: dict[str, object] = {}
    for ax in axes.flat:  # every method once, whichever panel it first appears in
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="lower center",
        ncol=min(8, len(legend)),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_methods(table: pd.DataFrame, experiment: str = "heat_map") -> plt.Figure | None:
    """The attribution methods side by side on one experiment's scores: skill and interval per
    method, one colour per grade; ``None`` when the experiment has a single method."""
    rows = scored(table)
    rows = rows[rows["experiment"] == experiment]
    if rows["method"].nunique() < 2:
        return None
    keys = _panel_keys(rows)
    methods = sorted(rows["method"].unique())
    grades = list(dict.fromkeys(rows.sort_values("median_nse")["grade"]))
    ncol = min(4, len(keys))
    nrow = -(-len(keys) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.4 * nrow), squeeze=False)
    width = 0.8 / max(1, len(grades))
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys, strict=False):
        sel = rows[(rows["metric"] == key[1]) & (rows["truth"] == key[2])]
        for j, grade in enumerate(grades):
            g = sel[sel["grade"] == grade].set_index("method").reindex(methods)
            x = np.arange(len(methods)) + (j - (len(grades) - 1) / 2) * width
            skill = g["skill"].clip(-1.5, 1.5)
            err = np.vstack(
                [
                    (skill - g["skill_low"].clip(-1.5, 1.5)).clip(lower=0),
                    (g["skill_high"].clip(-1.5, 1.5) - skill).clip(lower=0),
                ]
            )
            ax.errorbar(x, skill, yerr=err, fmt="o", ms=3, capsize=2, label=grade)
        ax.axhline(0, color="k", ls="--", lw=0.7)
        ax.axhline(1, color="k", ls=":", lw=0.7)
        ax.set_xticks(np.arange(len(methods)), methods, rotation=60, ha="right", fontsize=7)
        ax.set_ylim(-1.6, 1.6)
        ax.set_title(f"{key[1]} [{key[2]}]", fontsize=8)
    axes.flat[0].set_ylabel("skill (0 = best trivial, 1 = ceiling)", fontsize=8)
    axes.flat[0].legend(fontsize=7, title="grade", title_fontsize=7)
    fig.suptitle(f"{experiment}: attribution methods on the same truths", fontsize=9)
    fig.tight_layout()
    return fig


def write_figures(table: pd.DataFrame, folder: Path) -> list[Path]:
    """``benchmark_skill_vs_nse.png`` and, where methods compete, ``benchmark_methods.png``."""
    out = [save_figure(plot_skill_vs_nse(table), folder / "benchmark_skill_vs_nse.png")]
    methods = plot_methods(table)
    if methods is not None:
        out.append(save_figure(methods, folder / "benchmark_methods.png"))
    return out
