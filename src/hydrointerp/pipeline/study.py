"""The list of stages of a study and ``run_study``, the function behind ``hydrointerp run``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hydrointerp.config import RunConfig, check_experiments, load_config
from hydrointerp.pipeline import baseline_stage as bs
from hydrointerp.pipeline import benchmark as bm
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline import experiment_stages as es
from hydrointerp.pipeline import model_stages as ms
from hydrointerp.pipeline import output_stages as os_
from hydrointerp.pipeline import preflight
from hydrointerp.pipeline.runner import RunContext, Stage, run_stages, stages_until
from hydrointerp.scale import task_runner

#: the last of the model stages (data, windows, clusters, ensemble, finetune, skill): where
#: ``hydrointerp train`` stops
MODELS_DONE = "skill"


#: version of every ``experiment.<name>`` stage: 2 since the per-day mask streams (issue 19)
#: drew other masks, so a run directory from before recomputes its experiments
EXPERIMENT_STAGE_VERSION = 2


def _files(*names: str):
    return lambda ctx: [ctx.path(n) for n in names]


def build_stages(cfg: RunConfig) -> list[Stage]:
    """The stages this config runs, upstream first (a benchmark: its grades, each a study of
    these stages, then the benchmark table and report; :mod:`hydrointerp.pipeline.benchmark`)."""
    if cfg.benchmark.grades:
        report = _report_stage(("benchmark",)) if cfg.report.enabled else None
        return bm.benchmark_stages(cfg, build_stages, report)
    stages = [
        Stage("data", ds.run_data, _files(ds.REGION), sections=("data",)),
        Stage("windows", ds.run_windows, _files(ds.NORMALISER), ("windows",), ("data",)),
        Stage(
            "clusters",
            ds.run_clusters,
            _files(ds.CLUSTERS),
            ("windows", "ensemble.fine_tune.n_clusters", "ensemble.import.n_clusters"),
            ("data",),
        ),
    ]
    stages.append(
        Stage(
            "ensemble",
            ms.run_ensemble,
            ms.ensemble_outputs,
            (
                "ensemble.mode",
                "ensemble.members",
                "ensemble.seeds",
                "ensemble.training",
                "ensemble.model",
                "ensemble.import",
                "seed",
            ),
            ("windows",),
        )
    )
    if cfg.ensemble.mode == "train" and cfg.ensemble.fine_tune.enabled:
        stages.append(
            Stage(
                "finetune",
                ms.run_finetune,
                ms.finetune_outputs,
                ("ensemble.fine_tune",),
                ("ensemble", "clusters"),
            )
        )
    model_stage = stages[-1].name
    stages.append(
        Stage(
            "skill",
            ms.run_skill,
            _files(ms.PREDICTIONS, ms.SKILL),
            ("device",),
            (model_stage, "clusters"),
        )
    )
    baseline = cfg.baseline.enabled
    if baseline:
        stages.append(
            Stage("baseline", bs.run_baseline, _files(bs.PREDICTIONS), ("baseline",), ("skill",))
        )
    for name in cfg.experiments.run:
        stages.append(
            Stage(
                f"experiment.{name}",
                es.runner_of(name),
                es.outputs_of(name),
                (
                    f"experiments.settings.{name}",
                    "experiments.quick",
                    "experiments.ensemble",
                    "fidelity",
                    "device",
                ),
                ("skill",),
                EXPERIMENT_STAGE_VERSION,
            )
        )
    exps = [f"experiment.{n}" for n in cfg.experiments.run]
    if cfg.fidelity.enabled and cfg.data.source in ("virtual", "twin") and exps:
        stages.append(Stage("fidelity", es.run_fidelity, _files(es.FIDELITY), (), tuple(exps)))
    last = [st.name for st in stages]
    stages.append(
        Stage(
            "figures",
            os_.run_figures,
            _files(os_.STUDY_REGION),
            (),
            ("clusters", "skill", *(("baseline",) if baseline else ())),
        )
    )
    if cfg.report.enabled:
        stages.append(_report_stage(tuple(dict.fromkeys([*last, "figures"]))))
    return stages


def _report_stage(upstream: tuple[str, ...]) -> Stage:
    return Stage("report", os_.run_report, _files(os_.REPORT), ("report",), upstream)


def default_out(cfg: RunConfig) -> Path:
    """``runs/<name>`` in the current directory."""
    return Path("runs") / cfg.name


def run_study(
    config: str | os.PathLike[str] | RunConfig,
    out: str | os.PathLike[str] | None = None,
    shared: str | os.PathLike[str] | None = None,
    force: Iterable[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
    until: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) a study; return the run log.

    Parameters
    ----------
    config
        A YAML path, a built-in name (``demo``, ``reproduce-mini``, ``tiny``) or a RunConfig.
    out
        Run directory; default ``runs/<name>``.
    shared
        The shared data folder (mini year, published models); default ``../shared``.
    force
        Stages to recompute with everything downstream (``experiments`` forces all experiments).
    workers, scheduler
        Override the config's Dask settings (``workers > 1``: local cluster).
    processes
        Local Dask workers as processes (default) or threads.
    until
        Stop after this stage (or group of stages): run only it and the stages it reads from,
        e.g. :data:`MODELS_DONE` for ``hydrointerp train``. Default: every stage.
    """
    overrides = {"workers": workers, "scheduler": scheduler}
    if isinstance(config, RunConfig):
        cfg = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        check_experiments(cfg, "<RunConfig>")  # a config read from YAML was checked then
    else:
        cfg = load_config(config, overrides)
    preflight.check_settings(cfg, shared)
    run_dir = Path(out) if out is not None else default_out(cfg)
    stages = build_stages(cfg)
    if until is not None:
        stages = stages_until(stages, until)
    with task_runner(cfg.workers, cfg.scheduler, processes=processes) as tasks:
        ctx = RunContext(cfg, run_dir, Path(shared) if shared else None, tasks)
        return run_stages(ctx, stages, force, checks=preflight.region_checks())
