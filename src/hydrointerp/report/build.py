"""Build ``report.html``: one static, self-contained page per run (no network needed).

Sections: study region, configuration, data, model skill, published values (reproduce-mini),
each experiment with its figures and captions, fidelity, provenance. PNG figures are embedded as
base64; animated GIFs are linked beside the page (``figures/``).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp import __version__
from hydrointerp.atomic import write_text
from hydrointerp.data.region import glacier_classes
from hydrointerp.experiments.catalog import experiment_class
from hydrointerp.experiments.output import find_result, open_experiment
from hydrointerp.fidelity.table import SUMMARY, headline, references
from hydrointerp.report import html as h
from hydrointerp.report.benchmark import benchmark_sections
from hydrointerp.report.captions import (
    caption_for,
    section_of,
)
from hydrointerp.report.published import published_section
from hydrointerp.training.metrics import SUITE, split_column

TEMPLATE = Path(__file__).with_name("template.html")


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _stage_info(run_dir: Path, stage: str) -> dict[str, Any]:
    return _json(run_dir / ".stages" / f"{stage}.json").get("info", {})


def _figures(run_dir: Path) -> dict[str, list[Path]]:
    """Every figure of the run, by report section."""
    found: dict[str, list[Path]] = {}
    for folder in (run_dir / "figures", run_dir / "experiments"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in (".png", ".gif") and not path.name.startswith("."):
                found.setdefault(section_of(path.stem), []).append(path)
    return found


def _figure_html(paths: list[Path], run_dir: Path, embed: bool) -> str:
    parts = []
    for p in paths:
        inline = embed and p.suffix.lower() == ".png"
        parts.append(h.figure(p, caption_for(p.stem), embed=inline, base=run_dir))
    return "\n".join(parts)


# --------------------------------------------------------------------------- sections
def _config_section(run_dir: Path) -> str:
    text = (run_dir / "config.yaml").read_text() if (run_dir / "config.yaml").is_file() else ""
    return h.section(
        "config",
        "Configuration",
        h.note(
            "The resolved run configuration (every default filled in), as written to"
            " config.yaml in the run directory."
        )
        + f"<pre>{h.esc(text)}</pre>",
    )


def _data_section(run_dir: Path) -> str:
    path = run_dir / "region.nc"
    if not path.is_file():
        return h.section("data", "Data", h.note("region.nc is missing.", missing=True))
    with xr.open_dataset(path, engine="h5netcdf") as region:
        time = pd.DatetimeIndex(region["time"].values)
        g = np.asarray(region["glacier_fraction"].values, dtype=float)
        rows = [
            ["source", region.attrs.get("source", "")],
            ["stations", int(region.sizes["station"])],
            ["period", f"{time[0].date()} … {time[-1].date()} ({len(time)} days)"],
            ["grid (lat × lon)", f"{region.sizes['lat']} × {region.sizes['lon']}"],
            ["lat range (°N)", f"{float(region.lat.min()):.2f} … {float(region.lat.max()):.2f}"],
            ["lon range (°E)", f"{float(region.lon.min()):.2f} … {float(region.lon.max()):.2f}"],
            ["missing flow days", f"{100 * float(region['flow'].isnull().mean()):.1f} %"],
            [
                "glacier classes G=0 / ≤1 % / ≤10 % / >10 %",
                " / ".join(str(n) for n in glacier_classes(g).values()),
            ],
        ]
        if "regime" in region:
            counts = pd.Series([str(r) for r in region["regime"].values]).value_counts()
            rows.append(["regimes (truth)", ", ".join(f"{k} {v}" for k, v in counts.items())])
    windows = _stage_info(run_dir, "windows")
    if windows:
        rows.append(["split years", json.dumps(windows.get("split_years"))])
        rows.append(["windows per split", json.dumps(windows.get("n_windows"))])
        rows.append(["look-back (days)", windows.get("lookback")])
    clusters = _stage_info(run_dir, "clusters")
    if clusters:
        names = clusters.get("names") or []
        rows.append(
            [
                "station clusters (size)",
                ", ".join(
                    f"{n} {s}" for n, s in zip(names, clusters.get("sizes", []), strict=False)
                ),
            ]
        )
    return h.section("data", "Data", h.table(["item", "value"], rows))


def skill_summary(run_dir: Path) -> pd.DataFrame:
    """Median NSE and the share of stations above 0.8 for each ensemble (from skill.csv)."""
    table = pd.read_csv(run_dir / "skill.csv", dtype={"station_id": str})
    rows = []
    for col in [c for c in table.columns if c.startswith("nse_")]:
        v = table[col].to_numpy(dtype=float)
        rows.append(
            {
                "ensemble": col.removeprefix("nse_"),
                "median NSE": float(np.nanmedian(v)),
                "mean NSE": float(np.nanmean(v)),
                "share NSE > 0.8": float(np.nanmean(v > 0.8)),
                "share NSE > 0": float(np.nanmean(v > 0)),
                "stations": int(np.isfinite(v).sum()),
            }
        )
    return pd.DataFrame(rows)


def suite_summary(run_dir: Path) -> pd.DataFrame:
    """Median over gauges of every metric of skill.csv: one row per metric (with its units),
    one column per model (``bulk``, ``fine``, ``lstm`` ...)."""

    table = pd.read_csv(run_dir / "skill.csv", dtype={"station_id": str})
    cells: dict[tuple[str, str], float] = {}
    units: dict[str, str] = {}
    kinds: list[str] = []
    for col in table.columns.drop("station_id"):
        metric, kind, unit = split_column(col)
        units[metric] = unit
        kinds += [kind] if kind not in kinds else []
        cells[metric, kind] = float(np.nanmedian(table[col].to_numpy(dtype=float)))
    rows = [
        {"metric": f"{m} ({units[m]})", **{k: cells.get((m, k), np.nan) for k in kinds}}
        for m in SUITE
        if m in units
    ]
    return pd.DataFrame(rows)


def _skill_section(run_dir: Path, figures: list[Path], embed: bool) -> str:
    if not (run_dir / "skill.csv").is_file():
        return h.section("skill", "Model skill", h.note("skill.csv is missing.", missing=True))
    summary = skill_summary(run_dir)
    period = _stage_info(run_dir, "skill").get("period", "")
    body = h.note(
        f"Nash–Sutcliffe efficiency of each ensemble's mean prediction per station over the test"
        f" period {period} ('fine' routes each station to its cluster's fine-tuned models;"
        " 'lstm' is the lumped neuralhydrology baseline on basin averages, when enabled)."
    )
    body += h.table(list(summary.columns), summary.itertuples(index=False))
    units = _stage_info(run_dir, "skill").get("flow_units", "")
    body += "<h3>The standard metric suite (median over gauges)</h3>" + h.note(
        "Definitions and defaults of neuralhydrology 1.13 (evaluation.metrics). Flows in"
        f" {units or 'the units of skill.csv'}: the flows are de-normalised with each gauge's"
        " training mean and std before KGE, beta, bias, FDC and peak metrics; with normalised"
        " inputs (identity normaliser) the metrics that need m³/s are left out."
        " KGE's components are r, alpha_nse and beta_kge."
    )
    suite = suite_summary(run_dir)
    body += h.table(list(suite.columns), suite.itertuples(index=False))
    body += _per_cluster_skill(run_dir)
    return h.section("skill", "Model skill", body + _figure_html(figures, run_dir, embed))


def _per_cluster_skill(run_dir: Path) -> str:
    path = run_dir / "clusters.csv"
    if not path.is_file():
        return ""
    skill = pd.read_csv(run_dir / "skill.csv", dtype={"station_id": str})
    cl = pd.read_csv(path, dtype={"station_id": str})
    merged = skill.merge(cl, on="station_id")
    key = "cluster_name" if "cluster_name" in merged else "cluster"
    cols = [c for c in merged.columns if c.startswith("nse_")]
    grouped = merged.groupby(key, sort=False)
    rows = [[name, len(g), *[float(g[c].median()) for c in cols]] for name, g in grouped]
    header = ["cluster", "stations", *[f"median {c.replace('_', ' ').upper()}" for c in cols]]
    return "<h3>By station cluster</h3>" + h.table(header, rows)


def _experiment_section(run_dir: Path, name: str, figures: list[Path], embed: bool) -> str:
    cls = experiment_class(name)
    stem = cls.file
    path = find_result(run_dir / "experiments" / stem)
    title = cls.title
    if path is None:
        return h.section(name, title, h.note(f"experiments/{stem}.nc is missing.", missing=True))
    with open_experiment(path) as res:  # lazily: only names, sizes and attributes are read
        rows = [
            [
                v,
                " × ".join(f"{d} {res.sizes[d]}" for d in res[v].dims),
                res[v].attrs.get("long_name", ""),
            ]
            for v in res.data_vars
        ]
        attrs = {k: v for k, v in res.attrs.items() if not str(k).startswith("settings")}
    body = h.table(["variable", "dimensions", "meaning"], rows)
    keep = {k: v for k, v in attrs.items() if isinstance(v, (int, float, np.number, str))}
    short = [[k, v] for k, v in keep.items() if len(str(v)) < 120][:20]
    if short:
        body += "<h4>Summary</h4>" + h.table(["attribute", "value"], short)
    if not figures:
        body += h.note("No figure was written for this experiment.")
    return h.section(name, title, body + _figure_html(figures, run_dir, embed))


def _fidelity_section(run_dir: Path, figures: list[Path], embed: bool) -> str:
    path = run_dir / "fidelity.csv"
    if not path.is_file():
        return h.section("fidelity", "Fidelity", h.note("fidelity.csv is missing.", missing=True))

    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    main = headline(table)
    passed = main[(main["skill_low"] > 0) & (main["flag"].fillna("") == "")]
    body = h.note(
        "Each interpretation of the trained ensemble is scored against the same experiment run"
        " on the process simulator, whose truth is known, with its own random draws. The skill"
        " is (score - baseline) / (ceiling - baseline): 0 is the best trivial explainer (shuffled"
        " or constant maps, a map of another station, random weights on the same masks, an"
        " untrained network, seasonal and regime priors), 1 the agreement of two independent"
        " truths (the noise ceiling). Intervals: 95 % paired bootstrap over stations (or"
        " clusters, groups, days) and mask draws. A flag says why a score cannot be trusted"
        " (docs/fidelity.md)."
    )
    body += h.note(
        f"{len(passed)} of {len(main)} scores pass (skill interval above 0, no flag)."
        + (
            " Some maps are not converged (flag not_converged): a mask sweep stopped at its"
            " budget (`hydrointerp run fidelity` has the converged masks), or an"
            " integrated-gradients map misses f(x) - f(baseline) by more than 5 % (raise"
            " n_steps; tools/ig_completeness.py)."
            if main["flag"].fillna("").str.contains("not_converged").any()
            else ""
        )
    )
    cols = [*SUMMARY, "baseline_name", "flag", "verdict"]
    fmt = main[cols].round(3)
    body += h.table(cols, fmt.itertuples(index=False))
    ref = references(table)
    if len(ref):
        body += "<h4>Reference levels</h4>" + h.note(
            "noise_ceiling: two independent simulator runs against each other; self_agreement:"
            " the network against itself with independent masks; <method>:random_*: the"
            " network with its head, LSTM and CNN re-initialised in turn (the score must drop)."
        )
        rcols = ["experiment", "method", "metric", "truth", "value", "low", "high"]
        body += h.table(rcols, ref[rcols].round(3).itertuples(index=False))
    return h.section(
        "fidelity",
        "Which interpretations can you trust? Fidelity against the simulator's truth",
        body + _figure_html(figures, run_dir, embed),
    )


def _provenance_section(run_dir: Path, cfg: Any) -> str:
    import torch

    versions = [
        ["hydrointerp", __version__],
        ["python", platform.python_version()],
        ["numpy", np.__version__],
        ["xarray", xr.__version__],
        ["torch", torch.__version__],
        ["platform", platform.platform()],
    ]
    log = _json(run_dir / "run_log.json")
    seeds = cfg.ensemble.member_seeds() if cfg.ensemble.mode == "train" else "published models"
    rows = [
        *versions,
        ["run seed", cfg.seed],
        ["member seeds", seeds],
        ["workers", log.get("workers", 1)],
        ["started", log.get("started", "")],
    ]
    timings = []
    for state in sorted((run_dir / ".stages").glob("*.json")):
        rec = _json(state)
        timings.append([state.stem, rec.get("seconds", float("nan")), rec.get("fingerprint")])
    body = h.table(["item", "value"], rows)
    body += "<h3>Stage timings (last run of each stage)</h3>"
    body += h.table(["stage", "seconds", "fingerprint"], timings, digits=1)
    return h.section("provenance", "Provenance", body)


# --------------------------------------------------------------------------- assembly
def build_report(run_dir: str | os.PathLike[str], cfg: Any, shared: Path | None = None) -> Path:
    """Write ``run_dir/report.html`` from the run's artefacts; return its path.

    Parameters
    ----------
    run_dir
        The run directory.
    cfg
        The run's :class:`~hydrointerp.config.RunConfig`.
    shared
        Unused placeholder for future map layers.
    """
    run = Path(run_dir)
    embed = cfg.report.embed_images
    if cfg.benchmark.grades:  # a benchmark run: its own sections (report/benchmark.py)
        parts = [
            *benchmark_sections(run, embed),
            ("config", "Configuration", _config_section(run)),
            ("provenance", "Provenance", _provenance_section(run, cfg)),
        ]
        return _write_page(run, cfg, parts)
    figs = _figures(run)
    parts: list[tuple[str, str, str]] = []
    region_figs = figs.get("region", [])
    parts.append(
        (
            "region",
            "Study region",
            h.section(
                "region",
                "Study region",
                _figure_html(region_figs, run, embed)
                or h.note("figures/study_region.png is missing.", missing=True),
            ),
        )
    )
    parts.append(("config", "Configuration", _config_section(run)))
    parts.append(("data", "Data", _data_section(run)))
    parts.append(("skill", "Skill", _skill_section(run, figs.get("skill", []), embed)))
    if cfg.report.compare_published:
        parts.append(("published", "Published values", published_section(run)))
    for name in cfg.experiments.run:
        parts.append(
            (
                name,
                experiment_class(name).title,
                _experiment_section(run, name, figs.get(name, []), embed),
            )
        )
    if (run / "fidelity.csv").is_file() or figs.get("fidelity"):
        parts.append(
            ("fidelity", "Fidelity", _fidelity_section(run, figs.get("fidelity", []), embed))
        )
    if figs.get("other"):
        parts.append(
            (
                "other",
                "Other figures",
                h.section("other", "Other figures", _figure_html(figs["other"], run, embed)),
            )
        )
    parts.append(("provenance", "Provenance", _provenance_section(run, cfg)))
    return _write_page(run, cfg, parts)


def _write_page(run: Path, cfg: Any, parts: list[tuple[str, str, str]]) -> Path:
    nav = " ".join(f'<a href="#{a}">{h.esc(t)}</a>' for a, t, _ in parts)
    page = Template(TEMPLATE.read_text()).substitute(
        title=h.esc(cfg.report.title or f"hydrointerp study: {cfg.name}"),
        subtitle=h.esc(cfg.description or f"run directory {run.name}"),
        version=__version__,
        nav=nav,
        sections="\n".join(body for _, _, body in parts),
    )
    return write_text(run / "report.html", page)
