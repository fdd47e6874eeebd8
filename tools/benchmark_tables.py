"""Print the attribution benchmark's findings as Markdown tables (docs/benchmark.md).

    python tools/benchmark_tables.py runs/benchmark

Every number comes from ``benchmark.csv`` through :mod:`hydrointerp.fidelity.benchmark`, the same
functions the report uses, so the documentation can be regenerated from a run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hydrointerp.fidelity import benchmark as fb


def _md(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _iv(r: pd.Series) -> str:
    flag = r["flag"] if isinstance(r["flag"], str) and r["flag"] else ""
    return f"{fb.interval_text(r)} {flag}".strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--grade", default="e50-fine", help="the grade of the method tables")
    args = ap.parse_args()
    table = fb.read_benchmark(args.run_dir)
    grades = table[list(fb.GRADE_COLUMNS)].drop_duplicates("grade")
    print("## grades\n")
    print(_md(grades))
    print("\n## trust\n")
    trust = fb.trust(table)
    print(_md(trust.pivot(index="experiment", columns="grade", values="passing").reset_index()))
    print("\n## best and worst\n")
    bw = fb.best_and_worst(table)
    print(_md(bw[bw["grade"] == args.grade].drop(columns=["grade"])))
    print("\n## skill vs NSE\n")
    print(_md(fb.skill_vs_nse(table)))
    rows = fb.scored(table)
    print("\n## methods at the chosen grade (skill [95 %] flag)\n")
    heat = rows[(rows["grade"] == args.grade) & (rows["experiment"] == "heat_map")].copy()
    heat["score"] = heat["metric"] + " [" + heat["truth"] + "]"
    heat["skill [95 %]"] = heat.apply(_iv, axis=1)
    print(_md(heat.pivot(index="score", columns="method", values="skill [95 %]").reset_index()))
    print("\n## Experiment 4 decoding\n")
    dec = fb.decoding_rows(table)
    dec = dec[~dec["method"].astype(str).str.startswith("reference")].copy()
    dec["skill [95 %]"] = dec.apply(_iv, axis=1)
    keep = ["grade", "median_nse", "experiment", "method", "value", "baseline", "ceiling"]
    print(_md(dec[[*keep, "skill [95 %]"]]))
    print("\n## references (noise ceiling, self-agreement, randomised networks)\n")
    ref = table[table["method"].astype(str).str.contains("noise|self|random_all", regex=True)]
    ref = ref[ref["experiment"] == "heat_map"]
    print(_md(ref[["grade", "method", "metric", "truth", "value", "low", "high"]]))


if __name__ == "__main__":
    main()
