"""One-page figure of the fidelity table: skill with intervals, baseline and ceiling marked.

Each row of the figure is one score of one method (``experiment / metric [truth]``); the dot is
the skill, the bar its 95 % interval. Skill 0 (dashed) is the best trivial explainer, skill 1
(dotted) the noise ceiling (an independent truth against the truth). Flagged rows are drawn in
grey with a cross and the flag's short name, so what cannot be trusted is visible at a glance.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hydrointerp.fidelity.table import headline
from hydrointerp.plots.save import save_figure

METHOD_COLOURS = {
    "perturbation": "#DC3D4B",
    "integrated_gradients": "#735573",
    "saliency": "#6BB3C4",
}
SHORT_FLAGS = {
    "no_skill": "no skill",
    "worse_than_baseline": "below baseline",
    "randomisation_not_dropped": "randomisation",
    "ceiling_not_above_baseline": "ceiling<=baseline",
    "not_converged": "not converged",
    "few_units": "few units",
}


def _rows(table: pd.DataFrame) -> pd.DataFrame:
    sub = headline(table)
    sub = sub[np.isfinite(sub["skill"].astype(float))].copy()
    sub["label"] = sub["experiment"] + " / " + sub["metric"] + " [" + sub["truth"] + "]"
    return sub


def plot_fidelity(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Skill (dot) and interval (bar) of every scored interpretation, one line each."""
    sub = _rows(table)
    n = max(1, len(sub))
    fig, ax = plt.subplots(figsize=(8.27, min(11.0, 1.2 + 0.22 * n)))
    if sub.empty:
        ax.text(0.5, 0.5, "nothing scored (see fidelity.csv)", ha="center", va="center")
        ax.set_axis_off()
        return save_figure(fig, path)
    y = np.arange(len(sub))[::-1]
    lo = sub["skill_low"].to_numpy(float)
    hi = sub["skill_high"].to_numpy(float)
    sk = np.clip(sub["skill"].to_numpy(float), -1.5, 1.5)
    flags = sub["flag"].fillna("").astype(str).to_numpy()
    for yi, s, a, b, method, flag in zip(y, sk, lo, hi, sub["method"], flags, strict=True):
        bad = any(f in flag for f in ("no_skill", "worse_than", "randomisation", "ceiling_not"))
        colour = "#9e9e9e" if bad else METHOD_COLOURS.get(str(method), "#333333")
        if np.isfinite(a) and np.isfinite(b):
            ax.plot([max(a, -1.5), min(b, 1.5)], [yi, yi], color=colour, lw=2.2)
        ax.plot([s], [yi], "x" if bad else "o", color=colour, ms=6)
        if flag:
            short = ", ".join(SHORT_FLAGS.get(f, f) for f in flag.split(";") if f)
            ax.text(1.55, yi, short, fontsize=6, va="center", color="#555555")
    ax.axvline(0, color="k", ls="--", lw=0.8)
    ax.axvline(1, color="k", ls=":", lw=0.8)
    ax.set_yticks(y, [f"{lab}  ({m})" for lab, m in zip(sub["label"], sub["method"], strict=True)])
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xlim(-1.6, 2.4)
    ax.set_xlabel("skill: 0 = best trivial explainer (dashed), 1 = noise ceiling (dotted)")
    ax.set_title(
        "Can the network's interpretations be trusted? Skill against the simulator's truth"
    )
    handles = [
        plt.Line2D([], [], color=c, marker="o", lw=2, label=m) for m, c in METHOD_COLOURS.items()
    ]
    handles.append(plt.Line2D([], [], color="#9e9e9e", marker="x", lw=2, label="flagged"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)
