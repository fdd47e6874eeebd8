"""Stages ``experiment.<name>`` and ``fidelity``: every interpretation experiment of the run.

Each registered experiment (:func:`hydrointerp.experiments.catalog.registry`) runs on the run's
ensemble (``experiments/<file>.nc`` + its figures) and, on a virtual region, also on the
process simulator (``experiments/simulator/<file>.nc``), the truth the fidelity stage scores
against, and on the fidelity controls it supports (:mod:`hydrointerp.fidelity.controls`). Each
run is an independent task of the task runner, so they proceed in parallel on Dask workers.

Settings per experiment come from ``experiments.settings.<name>`` in the run config: the fields
of that experiment's class (:mod:`hydrointerp.experiments.base` documents the shared ones:
``n_targets``, ``target_step``, ``members``, ``simulator``), validated when the config is read.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from hydrointerp.config import MiniData, RunConfig
from hydrointerp.data.mini import read_mini
from hydrointerp.data.region import load as load_region
from hydrointerp.data.virtual_predictor import SimulatorPredictor
from hydrointerp.data.windows import Normaliser
from hydrointerp.experiments.base import DEFAULT_TARGETS, Experiment
from hydrointerp.experiments.inputs import (
    ExperimentInputs,
    mini_stations,
    published_ensemble,
    region_stations,
)
from hydrointerp.experiments.output import SUFFIXES, write_experiment
from hydrointerp.experiments.sweep_tasks import TaskPlan, serial_map
from hydrointerp.fidelity.controls import Variant, method_variants, variant_named, variants_for
from hydrointerp.fidelity.output import write_fidelity
from hydrointerp.fidelity.randomise import CASCADE, randomised
from hydrointerp.fidelity.truth import contribution_dataset
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline import model_stages as ms
from hydrointerp.pipeline.runner import RunContext


# ------------------------------------------------------------------------------ inputs
def has_truth(ctx: RunContext) -> bool:
    """True for a virtual region (``flow_component`` truth in region.nc)."""
    if isinstance(ctx.config.data, MiniData):
        return False
    with xr.open_dataset(ctx.path(ds.REGION), engine="h5netcdf") as region:
        return "flow_component" in region


def experiment_inputs(
    ctx: RunContext, target: str, n_targets: int, members: int | None
) -> ExperimentInputs:
    """:class:`~hydrointerp.experiments.inputs.ExperimentInputs` for the ensemble or simulator,
    built from the run's own files (the published mini year and models, or the run's region,
    normaliser, clusters and trained ensemble)."""
    cfg = ctx.config
    kind = cfg.experiments.ensemble if ms.has_fine(cfg) else "bulk"
    if isinstance(cfg.data, MiniData):
        shared = ds._shared(ctx)
        region = read_mini(shared)
        stations = mini_stations(shared, region)
        predictor = published_ensemble(
            ms.published_models_dir(ctx), kind, stations, members, cfg.device
        )
        inputs = ExperimentInputs.from_region(
            predictor, region, stations, None, n_targets, f"published mini year from {shared}"
        )
    else:
        region = ds.load_region(ctx)
        norm_path = ctx.path(ds.NORMALISER)
        normaliser = Normaliser.load(norm_path) if norm_path.is_file() else None
        stations = region_stations(region, ds.load_clusters(ctx))
        if target == "simulator":
            predictor = SimulatorPredictor.from_normaliser(region, normaliser, cfg.windows.lookback)
        else:
            ensemble = ms.load_ensemble(ctx, kind)
            predictor = ensemble.first_members(members) if members else ensemble
        inputs = ExperimentInputs.from_region(
            predictor, region, stations, normaliser, n_targets, str(ctx.path(ds.REGION))
        )
    return inputs


# ------------------------------------------------------------------------------ runners
@dataclass(frozen=True)
class ExperimentTask:
    """One experiment on one predictor (picklable, for Dask workers)."""

    run_dir: str
    config: RunConfig
    shared: str | None
    name: str
    target: str  # a variant of hydrointerp.fidelity.controls.VARIANTS ("model", "simulator"...)
    progress: bool = False  # inner progress bars (serial runs; Dask workers stay quiet)
    checkpoint_dir: str | None = None  # per-pass state of long sweeps (Experiments 1 and 2)


def variant_experiment(exp: Experiment, variant: Variant) -> Experiment:
    """The experiment as one variant runs it: its method, its predictor's settings, its own
    random draws."""
    if variant.method is not None:
        exp = exp.with_method(variant.method)  # type: ignore[attr-defined]
    exp = exp.for_predictor(variant.predictor)
    return exp.reseeded(variant.seed_offset) if variant.seed_offset else exp


def variant_splits(exp: Experiment, variant: Variant) -> bool:
    """True when the variant runs the experiment's sweeps as member x day-block tasks (the
    ``contribution`` control computes its truth without them)."""
    return exp.splits() and variant.name != "contribution"


def _variant_inputs(ctx: RunContext, variant: Variant, exp: Experiment) -> Any:
    n_targets = exp.n_targets or DEFAULT_TARGETS
    inputs = experiment_inputs(ctx, variant.predictor, n_targets, exp.members)
    if variant.randomise is not None:
        # the seed follows the level's place in the cascade, not the variant's name: a
        # further attribution method sees the same untrained weights
        seed = ctx.config.seed + 7919 * (1 + list(CASCADE).index(variant.randomise))
        inputs = dataclasses.replace(
            inputs, predictor=randomised(inputs.predictor, variant.randomise, seed)
        )
    return inputs


@dataclass(frozen=True)
class VariantSource:
    """The inputs of one variant of an experiment, as a worker builds them from the run
    directory (an :class:`~hydrointerp.experiments.sweep_tasks.InputsSource`)."""

    run_dir: str
    config: RunConfig
    shared: str | None
    name: str
    target: str

    @property
    def key(self) -> str:
        """Names the inputs (a worker keeps the last ones it built)."""
        return f"{self.run_dir}|{self.name}|{self.target}"

    def resolve(self) -> tuple[RunContext, Variant, Experiment]:
        """The variant's run context (without a task runner), the variant, and the experiment
        as that variant runs it."""
        ctx = RunContext(
            self.config, Path(self.run_dir), Path(self.shared) if self.shared else None, None
        )
        variant = variant_named(self.target)
        exp = variant_experiment(self.config.experiments.experiment(self.name), variant)
        return ctx, variant, exp

    def load(self) -> ExperimentInputs:
        """The variant's inputs, read from the run directory."""
        return _variant_inputs(*self.resolve())


def task_source(task: ExperimentTask) -> VariantSource:
    """Where the task's variant finds its inputs (the run directory)."""
    return VariantSource(task.run_dir, task.config, task.shared, task.name, task.target)


def task_plan(task: ExperimentTask, tasks: Any) -> TaskPlan:
    """How the variant's sweeps split, on the run's task runner ``tasks``: tasks read their
    inputs from the run directory on a cluster, use the stage's own inputs when serial."""
    cfg = task.config.experiments
    distributed = getattr(tasks, "client", None) is not None
    source = task_source(task) if distributed else None
    mapper = tasks.map if distributed else serial_map
    workers = tasks.n_workers if distributed else 1
    return TaskPlan(mapper, source, cfg.task_memory_mb, cfg.task_block_days, min_tasks=workers)


def run_experiment_task(task: ExperimentTask, tasks: Any = None) -> dict[str, Any]:
    """Run one experiment on one variant's predictor and write its file (and, for the
    network, its figures and its further results on a region with truth).

    ``tasks``: the run's task runner, given when the experiment's sweeps split into member x
    day-block tasks (:meth:`Experiment.splits`; this then runs in the stage process).
    """
    ctx, variant, exp = task_source(task).resolve()
    inputs = _variant_inputs(ctx, variant, exp)
    if task.checkpoint_dir is not None:
        inputs = dataclasses.replace(inputs, checkpoint_dir=Path(task.checkpoint_dir))
    plan = None
    if variant_splits(exp, variant):
        plan = task_plan(task, tasks)
        inputs = dataclasses.replace(inputs, tasks=plan)
    if variant.name == "contribution":
        result = contribution_dataset(exp.select(inputs))
    else:
        result = exp(inputs, task.progress)
    fmt = task.config.experiments.output_format
    rel = _result_path(task.config, variant, exp)
    record = {**exp.record(), "variant": variant.name}
    stem = rel[len("experiments/") : -len(SUFFIXES[fmt])]
    write_experiment(result, ctx.run_dir, stem, record, fmt)
    out: dict[str, Any] = {"target": task.target, "file": rel, "figures": []}
    if plan is not None and plan.log:
        out["sweep_tasks"] = _task_summary(plan)
    if variant.name == "model":
        out["figures"] = [p.name for p in exp.draw(result, ctx.path("figures"))]
        if has_truth(ctx):
            region = load_region(ctx.path(ds.REGION))
            extra = exp.truth_outputs(exp.select(inputs), result, region, ctx.config.seed)
            if sorted(extra) != sorted(exp.truth_stems(region)):
                raise RuntimeError(
                    f"{type(exp).__name__}.truth_outputs wrote {sorted(extra)}, its truth_stems"
                    f" say {sorted(exp.truth_stems(region))}"
                )
            for stem, further in extra.items():
                write_experiment(further, ctx.run_dir, stem, exp.record(), fmt)
                out[stem] = f"experiments/{stem}{SUFFIXES[fmt]}"
    return out


def _task_summary(plan: TaskPlan) -> dict[str, Any]:
    """The run log's record of a variant's sweep tasks."""
    log = plan.log
    return {
        "rounds": len(log),
        "task_seconds": round(sum(r["seconds"] for r in log), 3),
        "tasks": sum(r["tasks"] for r in log),
        "block_days": max(r["block_days"] for r in log),
        "members_per_task": max(r["members_per_task"] for r in log),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in log),
        "worker_rss_mb": {
            w: max(r["worker_rss_mb"].get(w, 0.0) for r in log)
            for w in sorted({w for r in log for w in r["worker_rss_mb"]})
        },
        "budget_mb": plan.memory_mb,
    }


def _result_path(cfg: RunConfig, variant: Variant, exp: Experiment) -> str:
    """The variant's result relative to the run directory, in the run's output format."""
    rel = variant.path(exp.result_stem(variant.predictor))
    return rel[: -len(".nc")] + SUFFIXES[cfg.experiments.output_format]


def variants_of(ctx: RunContext, name: str) -> list[Variant]:
    """The runs of one experiment: the network, and on a virtual region with fidelity on,
    the simulator and the fidelity controls (:mod:`hydrointerp.fidelity.controls`)."""
    exp = ctx.config.experiments.experiment(name)
    cls = type(exp)
    fid = ctx.config.fidelity
    truth = fid.enabled and exp.simulator and has_truth(ctx)
    chosen = fid.control_experiments is None or name in fid.control_experiments
    requested = list(fid.controls) if chosen else []
    out = variants_for(name, cls.controls, requested, list(fid.cascade), truth)
    if not cls.on_simulator:
        out = [v for v in out if v.predictor != "simulator"]
    if truth and cls.takes_method and name in fid.method_experiments:
        own = exp.method  # type: ignore[attr-defined]
        for m in fid.methods:
            if m != own:
                out += method_variants(m, requested)
    return out


def outputs_of(name: str) -> Callable[[RunContext], list[Path]]:
    """Artefacts of ``experiment.<name>``."""

    def _outputs(ctx: RunContext) -> list[Path]:
        exp = ctx.config.experiments.experiment(name)
        variants = variants_of(ctx, name)
        out = [ctx.path(_result_path(ctx.config, v, variant_experiment(exp, v))) for v in variants]
        if any(v.name == "model" for v in variants) and has_truth(ctx):
            with xr.open_dataset(ctx.path(ds.REGION), engine="h5netcdf") as region:
                stems = exp.truth_stems(region)
            suffix = SUFFIXES[ctx.config.experiments.output_format]
            out += [ctx.path("experiments", f"{stem}{suffix}") for stem in stems]
        return out

    return _outputs


def runner_of(name: str) -> Callable[[RunContext], dict[str, Any]]:
    """The stage function of ``experiment.<name>`` (one task per variant)."""

    def _run(ctx: RunContext) -> dict[str, Any]:
        shared = str(ctx.shared) if ctx.shared else None
        serial = ctx.tasks.n_workers == 1 and ctx.tasks.client is None
        sweeps = ctx.path("checkpoints", f"experiment.{name}")
        if not ctx.resuming:  # a fresh (not interrupted) attempt: stale sweeps must not be reused
            shutil.rmtree(sweeps, ignore_errors=True)
        exp = ctx.config.experiments.experiment(name)
        variants = variants_of(ctx, name)
        tasks = [
            ExperimentTask(
                str(ctx.run_dir), ctx.config, shared, name, v.name, serial, str(sweeps / v.name)
            )
            for v in variants
        ]
        # a variant whose sweeps split runs here, its member x day-block tasks on the workers;
        # the others are one task each
        split = [variant_splits(variant_experiment(exp, v), v) for v in variants]
        whole = [t for t, s in zip(tasks, split, strict=True) if not s]
        done = iter(ctx.tasks.map(run_experiment_task, whole, desc=f"experiment {name}"))
        results = [
            run_experiment_task(t, ctx.tasks) if s else next(done)
            for t, s in zip(tasks, split, strict=True)
        ]
        return {"runs": results, "settings": exp.record()}

    return _run


# ------------------------------------------------------------------------------ fidelity
FIDELITY = "fidelity.csv"


def run_fidelity(ctx: RunContext) -> dict[str, Any]:
    """Score every interpretation against the simulator: fidelity.csv, fidelity.nc, figure."""
    table = write_fidelity(ctx.run_dir, ctx.config.fidelity.n_boot)
    flagged = int((table["flag"].fillna("").astype(str) != "").sum())
    return {"rows": int(len(table)), "flagged": flagged}
