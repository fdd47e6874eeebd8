"""Stages ``experiment.<name>`` and ``fidelity``: every interpretation experiment of the run.

Each experiment runs on the run's ensemble (``experiments/<file>.nc`` + figures) and, on a
virtual region, also on the process simulator (``experiments/simulator/<file>.nc``), the truth
the fidelity stage scores against. The two runs are independent tasks of the task runner, so
they proceed in parallel on Dask workers.

Settings per experiment come from ``experiments.settings.<name>`` in the run config: the fields
of that experiment's settings class (``HeatSettings``, ``DailySettings``, ``DriverSettings``,
``CellStateSettings``...) plus these pipeline keys:

``n_targets``    evaluation days, the last ones with weather (default 365)
``target_step``  keep every n-th target day (default 1; ``quick`` uses 7 for the map sweeps)
``members``      use only the first N ensemble members (default all)
``simulator``    also run on the simulator when the region has truth (default true)
``delta_t``      temperature shifts in K (warming, august)
``cluster``      the cluster whose models Experiment 4 reads (default: the most glacierised)
``gifs``         write Experiment 1's animated GIFs (default: not in quick runs)

The map experiments (heat map, Experiments 1 and 2) take ``method``, a registered attribution
method (:mod:`hydrointerp.experiments.attribution_methods`); other than the published
``perturbation`` the network's results are ``<stem>_<method>.nc`` (figures likewise suffixed),
while the simulator's truth keeps ``<stem>.nc``, computed with the perturbation when the method
needs gradients (the simulator has none).
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hydrointerp.config import MiniData, RunConfig
from hydrointerp.errors import ConfigError
from hydrointerp.pipeline import data_stages as ds
from hydrointerp.pipeline import model_stages as ms
from hydrointerp.pipeline.runner import RunContext

PIPELINE_KEYS = (
    "n_targets",
    "target_step",
    "members",
    "simulator",
    "delta_t",
    "cluster",
    "swapped_means",
)
QUICK_DELTA_T = [5.0, 0.0, -5.0]
#: Settings classes with a ``method`` (a registered attribution method).
METHOD_SETTINGS = ("HeatSettings", "DailySettings", "ChannelSettings")
#: fidelity controls of the perturbation-map experiments (hydrointerp.fidelity.controls)
MAP_CONTROLS = ("simulator_b", "model_b", "random_head", "random_lstm", "random_all")


@dataclass(frozen=True)
class ExperimentSpec:
    """How the pipeline runs one experiment."""

    name: str
    file: str
    module: str
    settings_class: str | None
    simulator: bool
    quick: dict[str, Any]
    controls: tuple[str, ...] = ("random_all",)  # fidelity controls it supports


SPECS: dict[str, ExperimentSpec] = {
    "heat_map": ExperimentSpec(
        "heat_map",
        "heat_map",
        "heat_map",
        "HeatSettings",
        True,
        {"iters_one_pass": 10, "iters_total": 20, "target_step": 7},
        (*MAP_CONTROLS, "contribution"),
    ),
    "daily": ExperimentSpec(
        "daily",
        "sensitivity_daily",
        "daily",
        "DailySettings",
        True,
        {"iters_one_pass": 10, "iters_total": 20, "target_step": 3},
        MAP_CONTROLS,
    ),
    "channels": ExperimentSpec(
        "channels",
        "channel_importance",
        "channels",
        "ChannelSettings",
        True,
        {"iters_one_pass": 10, "iters_total": 20, "target_step": 3},
        MAP_CONTROLS,
    ),
    "warming": ExperimentSpec(
        "warming", "warming", "warming", None, True, {"delta_t": QUICK_DELTA_T}
    ),
    "august": ExperimentSpec("august", "august", "august", None, True, {"delta_t": QUICK_DELTA_T}),
    "drivers": ExperimentSpec(
        "drivers", "drivers", "drivers", "DriverSettings", True, {"n_boot": 200, "n_random": 200}
    ),
    "cell_states": ExperimentSpec(
        "cell_states", "cell_states", "cell_states", "CellStateSettings", False, {}
    ),
}


def experiment_settings(cfg: RunConfig, name: str) -> dict[str, Any]:
    """The experiment's settings: quick defaults (when ``quick``) overridden by the config's."""
    spec = SPECS[name]
    given = dict(cfg.experiments.settings.get(name, {}))
    return {**(spec.quick if cfg.experiments.quick else {}), **given}


def _module(spec: ExperimentSpec) -> Any:
    return ds.need(f"hydrointerp.experiments.{spec.module}", f"experiment.{spec.name}")


def _settings_object(spec: ExperimentSpec, values: dict[str, Any]) -> Any:
    if spec.settings_class is None:
        return None
    cls = getattr(_module(spec), spec.settings_class)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields - set(PIPELINE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key 'experiments.settings.{spec.name}.{unknown[0]}'; known: "
            + ", ".join(sorted(fields | set(PIPELINE_KEYS)))
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in fields}
    return cls(**kwargs)


def check_settings(cfg: RunConfig) -> None:
    """Validate every experiment's settings before anything runs (unknown keys are errors)."""
    if cfg.fidelity.methods:
        from hydrointerp.experiments.attribution_methods import METHODS as REGISTERED

        for m in cfg.fidelity.methods:
            if m not in REGISTERED:
                raise ConfigError(
                    f"unknown attribution method {m!r} in 'fidelity.methods'; known: "
                    + ", ".join(REGISTERED)
                )
    for key in ("cascade", "control_experiments", "method_experiments"):
        for name in getattr(cfg.fidelity, key) or []:
            if name not in SPECS:
                raise ConfigError(
                    f"unknown experiment {name!r} in 'fidelity.{key}'; known: " + ", ".join(SPECS)
                )
    for name in cfg.experiments.run:
        spec = SPECS[name]
        values = experiment_settings(cfg, name)
        try:
            _settings_object(spec, values)
        except ds.StageUnavailable:
            continue
        if spec.settings_class is None:
            unknown = sorted(set(values) - set(PIPELINE_KEYS))
            if unknown:
                raise ConfigError(f"unknown key 'experiments.settings.{name}.{unknown[0]}'")


# ------------------------------------------------------------------------------ inputs
def has_truth(ctx: RunContext) -> bool:
    """True for a virtual region (``flow_component`` truth in region.nc)."""
    if isinstance(ctx.config.data, MiniData):
        return False
    with xr.open_dataset(ctx.path(ds.REGION), engine="h5netcdf") as region:
        return "flow_component" in region


def experiment_inputs(ctx: RunContext, target: str, values: dict[str, Any]) -> Any:
    """:class:`~hydrointerp.experiments.inputs.ExperimentInputs` for the ensemble or simulator,
    built from the run's own files (the published mini year and models, or the run's region,
    normaliser, clusters and trained ensemble)."""
    from hydrointerp.data.mini import read_mini
    from hydrointerp.data.virtual_predictor import SimulatorPredictor
    from hydrointerp.data.windows import Normaliser
    from hydrointerp.experiments.inputs import (
        ExperimentInputs,
        mini_stations,
        published_ensemble,
        region_stations,
    )

    cfg = ctx.config
    kind = cfg.experiments.ensemble if ms.has_fine(cfg) else "bulk"
    n_targets = int(values.get("n_targets", 365))
    members = values.get("members")
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
    step = int(values.get("target_step", 1))
    return inputs.every_nth_target(step) if step > 1 else inputs


# ------------------------------------------------------------------------------ runners
def _delta_t(values: dict[str, Any]) -> list[float]:
    from hydrointerp.experiments.warming import DELTA_T

    return [float(x) for x in values.get("delta_t", DELTA_T)]


def _glacial_cluster(inputs: Any) -> int:
    st = inputs.stations
    g = st["glacier_fraction"].groupby(st["cluster"].rename("k")).mean()
    return int(g["k"].values[int(np.argmax(g.values))])


def _method(values: dict[str, Any]) -> str:
    return str(values.get("method", "perturbation"))


def result_stem(spec: ExperimentSpec, values: dict[str, Any], predictor: str = "model") -> str:
    """File stem of the experiment's result: ``<file>_<method>`` for the network's runs of a
    map experiment with a method other than the perturbation, else ``<file>``."""
    if predictor == "simulator" or spec.settings_class not in METHOD_SETTINGS:
        return spec.file
    from hydrointerp.experiments.attribution_methods import result_name

    return result_name(spec.file, _method(values))


def _target_values(spec: ExperimentSpec, values: dict[str, Any], predictor: str) -> dict[str, Any]:
    """The simulator has no gradients: its truth uses the perturbation for gradient methods."""
    if predictor != "simulator" or spec.settings_class not in METHOD_SETTINGS:
        return values
    from hydrointerp.experiments.attribution_methods import GRADIENT_METHODS

    return {**values, "method": "perturbation"} if _method(values) in GRADIENT_METHODS else values


def _run_one(
    spec: ExperimentSpec,
    inputs: Any,
    values: dict[str, Any],
    progress: bool = False,
    seed_offset: int = 0,
) -> xr.Dataset:
    mod = _module(spec)
    st = _settings_object(spec, values)
    if seed_offset and st is not None and hasattr(st, "seed"):
        st = dataclasses.replace(st, seed=int(st.seed) + seed_offset)  # independent draws
    if spec.name == "heat_map":
        return mod.heat_map(inputs, st, progress=progress)
    if spec.name == "daily":
        return mod.sensitivity_daily(inputs, st, progress=progress)
    if spec.name == "channels":
        return mod.channel_importance(inputs, st, progress=progress)
    if spec.name == "warming":
        return mod.warming_from_inputs(inputs, _delta_t(values), values.get("swapped_means", False))
    if spec.name == "august":
        return mod.august_from_inputs(inputs, _delta_t(values))
    if spec.name == "drivers":
        return mod.drivers_from_inputs(inputs, st)
    cluster = values.get("cluster")
    cluster = _glacial_cluster(inputs) if cluster is None else int(cluster)
    return mod.cell_states_from_inputs(inputs, cluster, st)


#: figure functions per experiment: (module, function, file stem)
PLOTS: dict[str, list[tuple[str, str, str]]] = {
    "heat_map": [("hydrointerp.plots.heat_map", "plot_cluster_heat_maps", "heat_map_clusters")],
    "daily": [("hydrointerp.plots.daily", "plot_pattern_maps", "sensitivity_daily_patterns")],
    "channels": [("hydrointerp.plots.channels", "plot_channel_sensitivity", "channel_sensitivity")],
    "warming": [
        ("hydrointerp.plots.warming", "plot_freshet_tracking", "warming_freshet_tracking"),
        ("hydrointerp.plots.warming", "plot_freshet_vs_freezing", "freshet_vs_freezing"),
    ],
    "august": [("hydrointerp.plots.august", "plot_august", "august_dQ_dT_glaciers")],
    "drivers": [
        ("hydrointerp.plots.drivers", "plot_driver_boxes", "drivers_0antecedent"),
        ("hydrointerp.plots.drivers", "plot_summer_tmax_vs_glacier", "drivers_summer_tmax"),
    ],
    "cell_states": [
        ("hydrointerp.plots.cell_states", "plot_cell_state_panels", "cell_state_panels")
    ],
}


def _plot(
    name: str, result: xr.Dataset, fig_dir: Path, gifs: bool, method: str = "perturbation"
) -> list[str]:
    from hydrointerp.experiments.attribution_methods import result_name

    done = []
    for module, func, plain in PLOTS.get(name, []):
        stem = result_name(plain, method) if name in ("heat_map", "daily", "channels") else plain
        try:
            fn: Callable | None = getattr(importlib.import_module(module), func, None)
        except ImportError:
            fn = None
        if fn is not None:
            fn(result, fig_dir / f"{stem}.png")
            done.append(f"{stem}.png")
    if name == "daily" and gifs and method == "perturbation":
        from hydrointerp.plots.daily import plot_daily_gifs

        done += [p.name for p in plot_daily_gifs(result, fig_dir)]
    return done


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


def _variant_inputs(ctx: RunContext, variant: Any, values: dict[str, Any]) -> Any:
    from hydrointerp.fidelity.randomise import CASCADE, randomised

    inputs = experiment_inputs(ctx, variant.predictor, values)
    if variant.randomise is not None:
        # the seed follows the level's place in the cascade, not the variant's name: a
        # further attribution method sees the same untrained weights
        seed = ctx.config.seed + 7919 * (1 + list(CASCADE).index(variant.randomise))
        inputs = dataclasses.replace(
            inputs, predictor=randomised(inputs.predictor, variant.randomise, seed)
        )
    return inputs


def run_experiment_task(task: ExperimentTask) -> dict[str, Any]:
    """Run one experiment on one variant's predictor and write its file (and, for the
    network, its figures)."""
    from hydrointerp.experiments.output import write_experiment
    from hydrointerp.fidelity.controls import variant_named

    ctx = RunContext(
        task.config, Path(task.run_dir), Path(task.shared) if task.shared else None, None
    )
    spec = SPECS[task.name]
    variant = variant_named(task.target)
    values = experiment_settings(task.config, task.name)
    if variant.method is not None:
        values = {**values, "method": variant.method}
    values = _target_values(spec, values, variant.predictor)
    inputs = _variant_inputs(ctx, variant, values)
    if task.checkpoint_dir is not None:
        inputs = dataclasses.replace(inputs, checkpoint_dir=Path(task.checkpoint_dir))
    if variant.name == "contribution":
        from hydrointerp.fidelity.truth import contribution_dataset

        result = contribution_dataset(inputs)
    else:
        result = _run_one(spec, inputs, values, task.progress, variant.seed_offset)
    rel = variant.path(result_stem(spec, values, variant.predictor))
    record = {**values, "variant": variant.name}
    write_experiment(result, ctx.run_dir, rel[len("experiments/") : -len(".nc")], record)
    gifs = bool(values.get("gifs", not task.config.experiments.quick))
    on_model = variant.name == "model"
    figures = []
    if on_model:
        figures = _plot(task.name, result, ctx.path("figures"), gifs, _method(values))
    extra = _probe(ctx, inputs, result) if task.name == "cell_states" and on_model else {}
    return {"target": task.target, "file": rel, "figures": figures, **extra}


def _probe(ctx: RunContext, inputs: Any, result: xr.Dataset) -> dict[str, Any]:
    """On a virtual region: regress the selected cell states on the true glacier melt."""
    if not has_truth(ctx):
        return {}
    from hydrointerp.data.region import load
    from hydrointerp.experiments.output import write_experiment
    from hydrointerp.experiments.probe import probe_from_inputs
    from hydrointerp.fidelity.decoding import decoding_from_inputs

    region = load(ctx.path(ds.REGION))
    if not bool((region["glacier_fraction"] > 0.01).any()):
        return {}
    cluster = int(result.attrs.get("cluster", 0))
    probe = probe_from_inputs(inputs, region, cluster)
    write_experiment(probe, ctx.run_dir, "probe", {"cluster": cluster})
    decoding = decoding_from_inputs(inputs, region, cluster, ctx.config.seed)
    write_experiment(decoding, ctx.run_dir, "decoding", {"cluster": cluster})
    return {"probe": "experiments/probe.nc", "decoding": "experiments/decoding.nc"}


def variants_of(ctx: RunContext, spec: ExperimentSpec) -> list[Any]:
    """The runs of one experiment: the network, and on a virtual region with fidelity on,
    the simulator and the fidelity controls (:mod:`hydrointerp.fidelity.controls`)."""
    from hydrointerp.fidelity.controls import method_variants, variants_for

    values = experiment_settings(ctx.config, spec.name)
    fid = ctx.config.fidelity
    truth = fid.enabled and bool(values.get("simulator", True)) and has_truth(ctx)
    chosen = fid.control_experiments is None or spec.name in fid.control_experiments
    requested = list(fid.controls) if chosen else []
    out = variants_for(spec.name, spec.controls, requested, list(fid.cascade), truth)
    if not spec.simulator:
        out = [v for v in out if v.predictor != "simulator"]
    methods = truth and spec.name in fid.method_experiments
    if methods and spec.settings_class in METHOD_SETTINGS:
        own = _method(values)
        for m in fid.methods:
            if m != own:
                out += method_variants(m, requested)
    return out


def outputs_of(name: str) -> Callable[[RunContext], list[Path]]:
    """Artefacts of ``experiment.<name>``."""
    spec = SPECS[name]

    def _outputs(ctx: RunContext) -> list[Path]:
        values = experiment_settings(ctx.config, spec.name)
        out = []
        for v in variants_of(ctx, spec):
            own = values if v.method is None else {**values, "method": v.method}
            out.append(ctx.path(v.path(result_stem(spec, own, v.predictor))))
        return out

    return _outputs


def runner_of(name: str) -> Callable[[RunContext], dict[str, Any]]:
    """The stage function of ``experiment.<name>`` (one task per variant)."""
    spec = SPECS[name]

    def _run(ctx: RunContext) -> dict[str, Any]:
        _module(spec)
        shared = str(ctx.shared) if ctx.shared else None
        serial = ctx.tasks.n_workers == 1 and ctx.tasks.client is None
        sweeps = ctx.path("checkpoints", f"experiment.{name}")
        if not ctx.resuming:  # a fresh (not interrupted) attempt: stale sweeps must not be reused
            shutil.rmtree(sweeps, ignore_errors=True)
        tasks = [
            ExperimentTask(
                str(ctx.run_dir), ctx.config, shared, name, v.name, serial, str(sweeps / v.name)
            )
            for v in variants_of(ctx, spec)
        ]
        results = ctx.tasks.map(run_experiment_task, tasks, desc=f"experiment {name}")
        return {"runs": results, "settings": experiment_settings(ctx.config, name)}

    return _run


# ------------------------------------------------------------------------------ fidelity
FIDELITY = "fidelity.csv"


def run_fidelity(ctx: RunContext) -> dict[str, Any]:
    """Score every interpretation against the simulator: fidelity.csv, fidelity.nc, figure."""
    from hydrointerp.fidelity.output import write_fidelity

    table = write_fidelity(ctx.run_dir, ctx.config.fidelity.n_boot)
    flagged = int((table["flag"].fillna("").astype(str) != "").sum())
    return {"rows": int(len(table)), "flagged": flagged}
