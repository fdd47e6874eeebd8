"""Figures of the attribution benchmark (``benchmark.csv``, :mod:`hydrointerp.fidelity.benchmark`):
skill against each grade's NSE per score, and the attribution methods side by side."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hydrointerp.fidelity.benchmark import SCORE, is_condition, scored
from hydrointerp.plots.save import save_figure

#: skills beyond this are drawn at it (a few scores reach -27 or 360 with 3 units)
LIMIT = 1.5


def _clipped(rows: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """The rows' skill and its asymmetric error bars, clipped to ±:data:`LIMIT`."""
    skill = rows["skill"].clip(-LIMIT, LIMIT)
    err = np.vstack(
        [
            (skill - rows["skill_low"].clip(-LIMIT, LIMIT)).clip(lower=0),
            (rows["skill_high"].clip(-LIMIT, LIMIT) - skill).clip(lower=0),
        ]
    )
    return skill, err


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
            skill, err = _clipped(g)
            region = is_condition(g).to_numpy()
            c = colours[method]
            ax.errorbar(g["median_nse"], skill, yerr=err, color=c, fmt="none", lw=1, capsize=2)
            ax.plot(g["median_nse"][~region], skill[~region], "o-", color=c, ms=4, label=method)
            ax.plot(g["median_nse"][region], skill[region], "o", mfc="none", color=c, ms=6)
        ax.axhline(0, color="k", ls="--", lw=0.7)
        ax.axhline(1, color="k", ls=":", lw=0.7)
        ax.set_ylim(-LIMIT - 0.1, LIMIT + 0.1)
        ax.set_title(f"{key[0]}\n{key[1]} [{key[2]}]", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("median test NSE of the grade", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"skill (clipped to ±{LIMIT})", fontsize=8)
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
            skill, err = _clipped(g)
            ax.errorbar(x, skill, yerr=err, fmt="o", ms=3, capsize=2, label=grade)
        ax.axhline(0, color="k", ls="--", lw=0.7)
        ax.axhline(1, color="k", ls=":", lw=0.7)
        ax.set_xticks(np.arange(len(methods)), methods, rotation=60, ha="right", fontsize=7)
        ax.set_ylim(-LIMIT - 0.1, LIMIT + 0.1)
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
