"""The stage runner: fingerprinted, resumable stages in one run directory.

A stage's fingerprint is the hash of its name, its version, the config sections it reads and the
fingerprints of the stages it depends on. After a stage has written its artefacts (atomically),
its fingerprint is recorded in ``RUN_DIR/.stages/<stage>.json``. On the next run a stage is
skipped when the recorded fingerprint equals the current one and all its artefacts exist; so a
killed run resumes at the first unfinished stage, and a changed setting re-runs that stage and
everything downstream of it only. ``force`` recomputes the named stages and their downstream.

Content, not only settings: the state file also records each artefact's size, mtime and SHA-256,
and the SHA-256 of the upstream artefacts the stage read. A stage whose artefact was truncated or
replaced (size or mtime changed) is not done and runs again; a stage whose upstream artefacts now
have other content than the ones it read runs again too.

One run per directory: :func:`~hydrointerp.pipeline.lock.run_lock` holds an OS-level lock on
``RUN_DIR/.lock`` for the whole run; a second run gets a clear error naming the holder.

Test hook (for the test suite only): ``HYDROINTERP_FAIL_STAGE=<stage>`` makes the runner raise
:class:`InjectedFailure` when it reaches that stage, as if the process were killed there.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hydrointerp import __version__
from hydrointerp.atomic import write_text
from hydrointerp.config import RunConfig, fingerprint, write_resolved
from hydrointerp.errors import ConfigError
from hydrointerp.pipeline.lock import run_lock

FAIL_ENV = "HYDROINTERP_FAIL_STAGE"


class InjectedFailure(RuntimeError):
    """Raised by the test hook ``HYDROINTERP_FAIL_STAGE``."""


@dataclass
class RunContext:
    """What every stage gets: the config, the run directory, the shared folder, the tasks."""

    config: RunConfig
    run_dir: Path
    shared: Path | None
    tasks: Any  # hydrointerp.scale.TaskRunner
    notes: dict[str, Any] = field(default_factory=dict)
    #: True while a stage runs whose previous attempt with the same fingerprint was interrupted
    #: (its partial work, e.g. training checkpoints, may be reused); False means start clean.
    resuming: bool = False

    def path(self, *parts: str) -> Path:
        """A path inside the run directory."""
        return self.run_dir.joinpath(*parts)


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Parameters
    ----------
    name
        Unique name, used by ``--force``; ``group.item`` names are forced by ``group`` too.
    run
        ``run(ctx) -> dict`` writes the artefacts; the dict (JSON) goes into the run log.
    outputs
        ``outputs(ctx) -> [paths]`` the artefacts that must exist for the stage to count as done.
    sections
        Config sections (``"windows"``, ``"ensemble"``, ``"experiments.settings.daily"``, ...)
        whose values enter the fingerprint.
    upstream
        Names of the stages this one reads from.
    version
        Bump when the stage's code changes what it writes.
    """

    name: str
    run: Callable[[RunContext], dict[str, Any] | None]
    outputs: Callable[[RunContext], Sequence[Path]]
    sections: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    version: int = 1

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if not is_config_section(s)]
        if unknown:
            raise ValueError(
                f"stage {self.name}: {unknown[0]!r} is not a section of the run config"
                f" (hydrointerp.config.RunConfig); top-level sections: "
                + ", ".join(_fields(RunConfig))
            )


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's field types by the names a config file (and the fingerprint's JSON) uses: the
    alias where a field has one (``import``, not ``import_``)."""
    return {info.alias or name: info.annotation for name, info in model.model_fields.items()}


def _models_in(annotation: Any) -> list[type[BaseModel]] | None:
    """The config models an annotation holds (a model, a union of models); ``None`` when it is a
    free-form mapping (any deeper key may be named); ``[]`` for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if annotation is dict or origin is dict:
        return None
    if origin in (typing.Union, types.UnionType):
        found = [_models_in(a) for a in typing.get_args(annotation)]
        if any(f is None for f in found):
            return None
        return [m for f in found for m in f]  # type: ignore[union-attr]
    return []


def is_config_section(dotted: str, model: type[BaseModel] = RunConfig) -> bool:
    """Whether ``dotted`` (``"windows"``, ``"ensemble.fine_tune.n_clusters"``,
    ``"experiments.settings.daily"``) names a section or setting of the run config. Keys below a
    free-form mapping (``experiments.settings``, ``ensemble.training``) are accepted."""
    head, _, rest = dotted.partition(".")
    fields = _fields(model)
    if head not in fields:
        return False
    if not rest:
        return True
    inner = _models_in(fields[head])
    if inner is None:
        return True
    return any(is_config_section(rest, m) for m in inner)


def _section_value(cfg: RunConfig, dotted: str) -> Any:
    value: Any = cfg.model_dump(mode="json", by_alias=True)
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def fingerprints(stages: Sequence[Stage], cfg: RunConfig) -> dict[str, str]:
    """The fingerprint of every stage, upstream first."""
    out: dict[str, str] = {}
    for st in stages:
        missing = [u for u in st.upstream if u not in out]
        if missing:
            raise ValueError(f"stage {st.name} depends on {missing} which do not run before it")
        out[st.name] = fingerprint(
            st.name,
            st.version,
            __version__,
            {s: _section_value(cfg, s) for s in st.sections},
            [out[u] for u in st.upstream],
        )
    return out


def stages_until(stages: Sequence[Stage], target: str) -> list[Stage]:
    """The stages needed for ``target`` (a stage, or a group: every ``group.*`` stage): the
    target and everything it reads from, directly or not, in run order.

    Raises
    ------
    ConfigError
        When no stage has that name.
    """
    wanted = {st.name for st in stages if target in (st.name, st.name.split(".")[0])}
    if not wanted:
        raise ConfigError(
            f"--until: unknown stage {target!r}; stages: "
            + ", ".join(dict.fromkeys(st.name.split(".")[0] for st in stages))
        )
    for st in reversed(stages):
        if st.name in wanted:
            wanted.update(st.upstream)
    return [st for st in stages if st.name in wanted]


def downstream_of(stages: Sequence[Stage], names: Iterable[str]) -> set[str]:
    """``names`` (a group name selects ``group.*``) and every stage that depends on them."""
    wanted = set(names)
    known = {st.name for st in stages} | {st.name.split(".")[0] for st in stages}
    unknown = wanted - known
    if unknown:
        raise ConfigError(
            f"--force: unknown stage {sorted(unknown)[0]!r}; stages: "
            + ", ".join(dict.fromkeys(st.name.split(".")[0] for st in stages))
        )
    hit: set[str] = set()
    for st in stages:
        if st.name in wanted or st.name.split(".")[0] in wanted or hit & set(st.upstream):
            hit.add(st.name)
    return hit


def _state_path(ctx: RunContext, name: str) -> Path:
    return ctx.path(".stages", f"{name}.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _signature(path: Path) -> list[Any]:
    """``[size, mtime_ns, sha256]`` of a file; ``[]`` for a folder (existence only)."""
    if not path.is_file():
        return []
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, _sha256(path)]


def _unchanged(path: Path, recorded: list[Any]) -> bool:
    """Same size, and the same mtime or (a copied file, say) the same SHA-256."""
    st = path.stat()
    if st.st_size != recorded[0]:
        return False
    return st.st_mtime_ns == recorded[1] or _sha256(path) == recorded[2]


def _key(ctx: RunContext, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ctx.run_dir.resolve()))
    except ValueError:
        return str(path)


def _read_state(ctx: RunContext, name: str) -> dict[str, Any] | None:
    state = _state_path(ctx, name)
    if not state.is_file():
        return None
    try:
        return json.loads(state.read_text())
    except json.JSONDecodeError:
        return None


def _upstream_digests(ctx: RunContext, stage: Stage) -> dict[str, str]:
    """The recorded SHA-256 of every artefact of the stages ``stage`` reads from."""
    out: dict[str, str] = {}
    for up in stage.upstream:
        recorded = (_read_state(ctx, up) or {}).get("outputs", {})
        out.update({k: v[2] for k, v in recorded.items() if len(v) == 3})
    return out


def is_done(ctx: RunContext, stage: Stage, fp: str) -> bool:
    """True when the recorded fingerprint matches and every artefact is as it was written.

    Artefacts must exist with the size recorded when the stage finished and the same mtime or,
    failing that, the same SHA-256 (a truncated or replaced file is not done; a copied one is),
    and the upstream artefacts must have the content the stage read. State files of older
    versions without these records count on existence only.
    """
    recorded = _read_state(ctx, stage.name)
    if recorded is None or recorded.get("fingerprint") != fp:
        return False
    outputs = [Path(p) for p in stage.outputs(ctx)]
    if not all(p.exists() for p in outputs):
        return False
    sigs = recorded.get("outputs", {})
    for path in outputs:
        want = sigs.get(_key(ctx, path))
        if want and path.is_file() and not _unchanged(path, want):
            return False
    inputs = recorded.get("inputs")
    return inputs is None or inputs == _upstream_digests(ctx, stage)


def _echo(msg: str) -> None:
    print(msg, flush=True)


def run_stages(
    ctx: RunContext,
    stages: Sequence[Stage],
    force: Iterable[str] = (),
    echo: Callable[[str], None] = _echo,
    checks: Mapping[str, Callable[[RunContext], None]] | None = None,
) -> dict[str, Any]:
    """Run every stage not already done; return the run log (also ``RUN_DIR/run_log.json``).

    ``checks[name](ctx)`` runs once stage ``name`` is done (run or skipped), before any later
    stage: the place for checks of the settings against that stage's artefacts. The run holds
    the run directory's lock throughout.
    """
    with run_lock(ctx.run_dir):
        return _run_locked(ctx, stages, force, echo, checks or {})


def _run_locked(
    ctx: RunContext,
    stages: Sequence[Stage],
    force: Iterable[str],
    echo: Callable[[str], None],
    checks: Mapping[str, Callable[[RunContext], None]],
) -> dict[str, Any]:
    fps = fingerprints(stages, ctx.config)
    forced = downstream_of(stages, force)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    for name in forced:  # a forced stage is not done, even if this run stops before it
        _state_path(ctx, name).unlink(missing_ok=True)
        ctx.path(".stages", f"{name}.started").unlink(missing_ok=True)
    write_resolved(ctx.config, ctx.path("config.yaml"))
    log: dict[str, Any] = {
        "name": ctx.config.name,
        "hydrointerp": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "workers": ctx.tasks.n_workers,
        "stages": {},
    }
    total = time.perf_counter()
    for i, st in enumerate(stages, 1):
        head = f"[{i}/{len(stages)}] {st.name}"
        if st.name not in forced and is_done(ctx, st, fps[st.name]):
            echo(f"{head}: up to date ({fps[st.name]}), skipped")
            log["stages"][st.name] = {"status": "skipped", "fingerprint": fps[st.name]}
            if st.name in checks:
                checks[st.name](ctx)
            continue
        if os.environ.get(FAIL_ENV) == st.name:
            raise InjectedFailure(f"{FAIL_ENV}={st.name}: stopping before stage {st.name}")
        echo(f"{head}: running")
        _state_path(ctx, st.name).unlink(missing_ok=True)
        started = ctx.path(".stages", f"{st.name}.started")
        ctx.resuming = started.is_file() and started.read_text() == fps[st.name]
        write_text(started, fps[st.name])
        t0 = time.perf_counter()
        inputs = _upstream_digests(ctx, st)
        info = st.run(ctx) or {}
        seconds = time.perf_counter() - t0
        record = {
            "fingerprint": fps[st.name],
            "seconds": round(seconds, 3),
            "info": info,
            "outputs": {_key(ctx, Path(p)): _signature(Path(p)) for p in st.outputs(ctx)},
            "inputs": inputs,
        }
        write_text(_state_path(ctx, st.name), json.dumps(record, indent=1, default=str))
        log["stages"][st.name] = {"status": "ran", **record}
        echo(f"{head}: done in {seconds:.1f} s")
        write_text(ctx.path("run_log.json"), json.dumps(log, indent=1, default=str))
        if st.name in checks:
            checks[st.name](ctx)
    log["seconds"] = round(time.perf_counter() - total, 3)
    log["stage_seconds"] = stage_seconds(ctx, stages)
    write_text(ctx.path("run_log.json"), json.dumps(log, indent=1, default=str))
    return log


def stage_seconds(ctx: RunContext, stages: Sequence[Stage]) -> dict[str, float]:
    """Seconds each stage took when it last ran (from its state file)."""
    out: dict[str, float] = {}
    for st in stages:
        state = _state_path(ctx, st.name)
        if state.is_file():
            out[st.name] = json.loads(state.read_text()).get("seconds", float("nan"))
    return out
