"""The report of a benchmark run: its grades and "Which interpretations can you trust?".

One page for ``RUN_DIR/report.html`` of a run with ``benchmark.grades``: the grades (models'
skill, region), the trust table per grade and experiment, the best and worst method per score,
whether skill rises with the network's NSE, the published perturbation method against
integrated gradients and occlusion on the same truths, Experiment 4's verdict with its controls,
the figures, and links to every grade's own report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hydrointerp.fidelity import benchmark as fb
from hydrointerp.report import html as h

CAPTIONS = {
    "benchmark_skill_vs_nse": (
        "Skill (dot) and 95 % interval (bar) of every score against the grade's median test"
        " NSE, one line per attribution method; 0 (dashed) = the best trivial explainer,"
        " 1 (dotted) = the noise ceiling; hollow markers are region conditions."
    ),
    "benchmark_methods": (
        "The heat map's attribution methods side by side on the same truths, one colour per"
        " grade (skill and 95 % interval)."
    ),
}
#: the methods the issue compares head to head on the heat map
HEAD_TO_HEAD = ("perturbation", "integrated_gradients", "occlusion")


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return h.note("(no rows)")
    return h.table(list(frame.columns), frame.round(3).itertuples(index=False))


def _grades(table: pd.DataFrame, run: Path) -> str:
    cols = [c for c in fb.GRADE_COLUMNS if c in table]
    grades = table[cols].drop_duplicates("grade").copy()
    grades["report"] = [
        f"grades/{g}/report.html" if (run / "grades" / g / "report.html").is_file() else "–"
        for g in grades["grade"]
    ]
    body = h.note(
        "Each grade is a complete study of its own (grades/<name>/, with its own report): the"
        " same region, experiments, methods and fidelity controls, with the models trained to"
        " another quality (epochs; bulk or fine-tuned) or on a region condition."
    )
    return h.section("grades", "Grades: model quality and region", body + _table(grades))


def _trust(table: pd.DataFrame) -> str:
    body = h.note(
        "A score passes when its whole 95 % skill interval lies above 0 (better than the best"
        " trivial explainer: shuffled, constant, distance-to-centre and other-station maps,"
        " random weights on the same masks, an untrained network, seasonal and regime priors)"
        " and it has no flag (e.g. randomisation_not_dropped: the map does not change when the"
        " model is randomised). 'cannot be trusted' means no score of that experiment passes"
        " at that grade: do not read that interpretation of such a model."
    )
    body += _table(fb.trust(table))
    body += "<h3>Best and worst method per score</h3>" + h.note(
        "Skill [95 % interval]; best_passes says whether the best method's score passes."
    )
    body += _table(fb.best_and_worst(table))
    body += "<h3>Does fidelity rise with the network's skill?</h3>" + h.note(
        "Across the grades of the run's own region, ordered by median test NSE: 'rises' when"
        " the best grade's whole skill interval lies above the worst grade's, 'falls' when"
        " below, else 'no clear change'."
    )
    body += _table(fb.skill_vs_nse(table))
    rows = fb.scored(table)
    heat = rows[(rows["experiment"] == "heat_map") & rows["method"].isin(HEAD_TO_HEAD)]
    body += "<h3>The published perturbation against integrated gradients and occlusion</h3>"
    keep = ["grade", "median_nse", "metric", "truth", "method", "value", "skill"]
    keep += ["skill_low", "skill_high", "flag"]
    body += _table(heat[keep].sort_values(["grade", "truth", "metric", "method"]))
    return h.section("trust", "Which interpretations can you trust?", body)


def _decoding(table: pd.DataFrame) -> str:
    body = h.note(
        "Experiment 4 with controls: the leave-one-year-out R² the LSTM cell states add to the"
        " true glacier melt beyond the seasonal cycle, temperature memory and snowmelt (ΔR²),"
        " for the published head-weight selection and all units, against random units of the"
        " same count and an untrained network's units. The selection finds glacier melt only"
        " where its skill interval lies above 0."
    )
    return h.section(
        "exp4",
        "Experiment 4: does the published procedure find glacier melt?",
        body + _table(fb.decoding_rows(table)),
    )


def benchmark_sections(run: Path, embed: bool) -> list[tuple[str, str, str]]:
    """The benchmark's sections as ``(anchor, title, html)``."""
    path = run / fb.BENCHMARK
    if not path.is_file():
        missing = h.section("trust", "Benchmark", h.note(f"{path} is missing.", missing=True))
        return [("trust", "Benchmark", missing)]
    table = fb.read_benchmark(run)
    figs = [
        h.figure(p, CAPTIONS[p.stem], embed=embed, base=run)
        for stem in CAPTIONS
        if (p := run / "figures" / f"{stem}.png").is_file()
    ]
    figures = h.section("benchmark_figures", "Benchmark figures", "\n".join(figs))
    return [
        ("grades", "Grades", _grades(table, run)),
        ("trust", "Which interpretations can you trust?", _trust(table)),
        ("exp4", "Experiment 4", _decoding(table)),
        ("benchmark_figures", "Figures", figures),
    ]
