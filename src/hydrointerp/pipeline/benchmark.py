"""The attribution benchmark's stages: one complete study per grade, then the table of grades.

A run config with ``benchmark.grades`` (docs/benchmark.md) does not train or interpret anything
itself. Each grade (:class:`~hydrointerp.config.Grade`: a training recipe, bulk or fine-tuned
models, a region condition) becomes an ordinary study in ``RUN_DIR/grades/<name>/`` with the run's
data, experiments, attribution methods and fidelity controls, run by the same stages as any
study (so a grade resumes, and ``hydrointerp fidelity RUN_DIR/grades/<name>`` re-scores it). The
``benchmark`` stage then stacks the grades' fidelity tables with each grade's model skill and
region facts into ``benchmark.csv`` (:mod:`hydrointerp.fidelity.benchmark` reads it) and draws
its figures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.atomic import write_text
from hydrointerp.config import Grade, RunConfig, parse_config
from hydrointerp.errors import DataError
from hydrointerp.fidelity.benchmark import BENCHMARK, GRADE_COLUMNS
from hydrointerp.pipeline import preflight
from hydrointerp.pipeline.runner import RunContext, Stage, run_stages
from hydrointerp.plots.benchmark import write_figures

GRADES = "grades"


def grade_dir(ctx: RunContext, grade: Grade) -> Path:
    """The grade's own run directory."""
    return ctx.path(GRADES, grade.name)


def grade_config(cfg: RunConfig, grade: Grade) -> RunConfig:
    """The study a grade runs: the benchmark's config with the grade's changes, validated like
    a config file (so a grade's bad setting is an error naming ``benchmark grade <name>``)."""
    values = cfg.model_dump(mode="json", by_alias=True)
    values["name"] = f"{cfg.name}.{grade.name}"
    values["description"] = grade.description or f"benchmark grade {grade.name} of {cfg.name}"
    values["benchmark"] = {"grades": []}
    ens = values["ensemble"]
    ens["training"] = {**ens["training"], **grade.training}
    members = grade.members or ens["members"]
    seeds = grade.seeds
    if seeds is None and ens.get("seeds") is not None:
        seeds = ens["seeds"][:members] if len(ens["seeds"]) >= members else None
    ens["members"], ens["seeds"] = members, seeds
    ens["fine_tune"]["enabled"] = grade.ensemble == "fine"
    values["experiments"]["ensemble"] = grade.ensemble
    if grade.methods is not None:
        values["fidelity"]["methods"] = list(grade.methods)
    if grade.experiments is not None:
        values["experiments"]["run"] = list(grade.experiments)
        fid = values["fidelity"]
        for key in ("cascade", "control_experiments", "method_experiments"):
            if fid.get(key) is not None:
                fid[key] = [n for n in fid[key] if n in grade.experiments]
    if grade.region:
        values["data"]["region"] = {**values["data"]["region"], **grade.region}
    values["report"]["title"] = f"{cfg.report.title or cfg.name}: grade {grade.name}"
    return parse_config(values, f"benchmark grade {grade.name!r} of {cfg.name}")


def _grade_facts(run_dir: Path, grade: Grade, cfg: RunConfig) -> dict[str, Any]:
    """What the benchmark table says about a grade: its models' skill and its region."""
    skill = pd.read_csv(run_dir / "skill.csv", dtype={"station_id": str})
    kind = grade.ensemble if f"nse_{grade.ensemble}" in skill else "bulk"
    nse = skill[f"nse_{kind}"].to_numpy(dtype=float)
    with xr.open_dataset(run_dir / "region.nc", engine="h5netcdf") as region:
        g = np.asarray(region["glacier_fraction"].values, dtype=float)
    glacial = g > 0.01
    return {
        "grade": grade.name,
        "ensemble": kind,
        "members": cfg.ensemble.members,
        "epochs": int(cfg.ensemble.training.get("max_epochs", 0)),
        "condition": json.dumps(grade.region, sort_keys=True) if grade.region else "",
        "median_nse": float(np.nanmedian(nse)),
        "share_nse_above_0.8": float(np.nanmean(nse > 0.8)),
        "n_stations": int(g.size),
        "n_glacial": int(glacial.sum()),
        "mean_glacier_fraction_glacial": float(g[glacial].mean()) if glacial.any() else 0.0,
    }


def grade_stage(grade: Grade, build: Callable[[RunConfig], Sequence[Stage]]) -> Stage:
    """Stage ``grade.<name>``: run (or resume) the grade's study with the benchmark's task
    runner; ``build`` gives a study's stages (:func:`hydrointerp.pipeline.study.build_stages`)."""

    def _run(ctx: RunContext) -> dict[str, Any]:
        cfg = grade_config(ctx.config, grade)
        sub = RunContext(cfg, grade_dir(ctx, grade), ctx.shared, ctx.tasks)
        t0 = time.perf_counter()
        log = run_stages(
            sub,
            build(cfg),
            echo=lambda msg: print(f"  [{grade.name}] {msg}", flush=True),
            checks=preflight.region_checks(),
        )
        seconds = {k: v.get("seconds") for k, v in log["stages"].items()}
        facts = _grade_facts(sub.run_dir, grade, cfg)
        return {**facts, "seconds": round(time.perf_counter() - t0, 1), "stages": seconds}

    def _outputs(ctx: RunContext) -> list[Path]:
        return [grade_dir(ctx, grade) / name for name in ("skill.csv", "fidelity.csv")]

    return Stage(
        f"grade.{grade.name}",
        _run,
        _outputs,
        sections=(
            "benchmark",
            "data",
            "windows",
            "ensemble",
            "experiments",
            "fidelity",
            "device",
            "seed",
        ),
    )


def run_benchmark(ctx: RunContext) -> dict[str, Any]:
    """Stage ``benchmark``: every grade's fidelity table with the grade's facts, as one table
    (``benchmark.csv``), and the benchmark's figures."""
    frames = []
    for grade in ctx.config.benchmark.grades:
        folder = grade_dir(ctx, grade)
        path = folder / "fidelity.csv"
        if not path.is_file():
            raise DataError(
                "a benchmark grade has no fidelity table",
                file=str(path),
                expected="fidelity.csv written by the grade's fidelity stage",
                found="missing (does the grade's config enable fidelity on a virtual region?)",
            )
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
        cfg = grade_config(ctx.config, grade)
        facts = _grade_facts(folder, grade, cfg)
        frames.append(table.assign(**facts)[[*GRADE_COLUMNS, *table.columns]])
    table = pd.concat(frames, ignore_index=True)
    write_text(ctx.path(BENCHMARK), table.to_csv(index=False))
    figures = write_figures(table, ctx.path("figures"))
    return {
        "rows": int(len(table)),
        "grades": [g.name for g in ctx.config.benchmark.grades],
        "figures": [p.name for p in figures],
    }


def benchmark_stages(
    cfg: RunConfig, build: Callable[[RunConfig], Sequence[Stage]], report: Stage | None
) -> list[Stage]:
    """The stages of a benchmark run: a grade stage each, the table, the report."""
    grades = [grade_stage(g, build) for g in cfg.benchmark.grades]
    table = Stage(
        "benchmark",
        run_benchmark,
        lambda ctx: [ctx.path(BENCHMARK)],
        sections=("benchmark",),
        upstream=tuple(s.name for s in grades),
    )
    return [*grades, table, *([report] if report is not None else [])]
