"""The per-day perturbation sweep: a sensitivity map per station for every target day.

``make_heat`` on one day at a time, each day with its own convergence (Experiment 1,
METHODS.md 6.1; Experiment 2 and the ``perturbation`` attribution method use the same sweep).
Long sweeps save their state after every pass and resume bit-identically after a kill.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.atomic import atomic_path
from hydrointerp.experiments.engine import PerturbationEngine, weigh
from hydrointerp.experiments.inputs import ExperimentInputs
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.sweep_tasks import SweepResponses, TaskPlan, sweep_engine

#: version of the mask streams in a sweep's checkpoint key (a checkpoint of older streams is
#: not resumed)
STREAMS = 2


def make_daily_heat(
    engine: PerturbationEngine,
    targets: np.ndarray,
    settings: Perturbation,
    progress: bool = True,
    desc: str = "daily maps",
    checkpoint: Path | None = None,
    plan: TaskPlan | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Daily sensitivity maps ``[T, S, H, W]`` (member mean) with per-day convergence.

    Every pass evaluates the days that have not converged; a day stops when the relative change
    of its running mean is ``<= tol`` or it used ``iters_total`` masks. Returns the maps and the
    masks used per day.

    Pass ``p`` of a day draws its masks from that day's own stream
    (:func:`~hydrointerp.experiments.perturbation.pass_masks`), so a day's maps do not depend on
    the other days of ``targets``. ``plan`` splits each pass over the open days into member x
    day-block tasks (:mod:`hydrointerp.experiments.sweep_tasks`; None: one task in this
    process); the result is the same for every plan.

    With ``checkpoint``, the sweep's state (sums, masks used, open days and passes done; the
    running means follow as sums / masks) is saved atomically after every pass, and a sweep
    started again with the same targets and settings continues from the last pass: the result is
    bit-identical to an uninterrupted sweep. The file is removed when the sweep finishes.
    """
    shape = tuple(engine.frames.shape[1:3])
    n_t = len(targets)
    key = {
        "targets": np.asarray(targets).tolist(),
        "settings": settings.to_dict(),
        "shape": [n_t, engine.n_stations, *shape],
        "streams": STREAMS,
    }
    state = _load_sweep(checkpoint, key) or _new_sweep(n_t, engine.n_stations, shape)
    total, prev, used, active = (state[k] for k in ("total", "prev", "used", "active"))
    passes = int(state["passes"])
    sweep = SweepResponses(engine, targets, plan)
    bar = tqdm(total=n_t, initial=n_t - len(active), desc=desc, disable=not progress)
    while len(active):
        dy = sweep(settings, passes, active)
        part = weigh(dy, sweep.masks(settings, passes, active), "member")
        passes += 1
        total[active] += part.float()
        used[active] += settings.iters_one_pass
        cur = (
            total[active] / torch.as_tensor(used[active], dtype=torch.float32)[:, None, None, None]
        )
        old = prev[active]
        den = old.abs().mean(dim=(1, 2, 3))
        err = (cur - old).abs().mean(dim=(1, 2, 3)) / torch.where(den > 0, den, torch.inf)
        if int(used[active].min()) == settings.iters_one_pass:
            err = torch.where(
                torch.as_tensor(used[active] == settings.iters_one_pass), torch.inf, err
            )
        prev[active] = cur
        done = (err.numpy() <= settings.tol) | (used[active] >= settings.iters_total)
        bar.update(int(done.sum()))
        active = active[~done]
        if len(active):
            _save_sweep(checkpoint, key, total, used, active, passes)
    bar.close()
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return total / torch.as_tensor(used, dtype=torch.float32)[:, None, None, None], used


def _new_sweep(n_t: int, n_st: int, shape: tuple) -> dict:
    total = torch.zeros(n_t, n_st, *shape, dtype=torch.float32)
    return {
        "total": total,
        "prev": torch.zeros_like(total),
        "used": np.zeros(n_t, dtype=np.int64),
        "active": np.arange(n_t),
        "passes": 0,
    }


def _save_sweep(path: Path | None, key: dict, total, used, active, passes: int) -> None:  # noqa: ANN001
    """Save the sweep; the running means are not stored (they are ``total / used``)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"key": key, "total": total, "used": used, "active": active, "passes": passes}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_sweep(path: Path | None, key: dict) -> dict | None:
    """The saved state of the same sweep, or None (no file, or another sweep's file)."""
    if path is None or not path.is_file():
        return None
    state = torch.load(path, weights_only=False)
    if state.get("key") != key:
        return None
    used = torch.as_tensor(state["used"], dtype=torch.float32)[:, None, None, None]
    prev = torch.where(used > 0, state["total"] / used.clamp(min=1), 0.0)
    return {**state, "prev": prev}


def daily_maps(
    inputs: ExperimentInputs,
    heat: Perturbation,
    reference: bool = False,
    progress: bool = True,
    desc: str = "daily maps",
) -> tuple[xr.DataArray, xr.DataArray]:
    """Labelled daily maps ``(time, station, lat, lon)`` and modelled flow ``(time, station)``."""
    engine = sweep_engine(inputs, reference)
    targets = inputs.target_indices()
    checkpoint = None
    if inputs.checkpoint_dir is not None:
        checkpoint = Path(inputs.checkpoint_dir) / f"{desc.replace(' ', '_')}.pt"
    maps, used = make_daily_heat(engine, targets, heat, progress, desc, checkpoint, inputs.tasks)
    coords = {"time": inputs.target_times, "station": inputs.stations["station"].values}
    da = xr.DataArray(
        maps.numpy(),
        dims=("time", "station", "lat", "lon"),
        coords={**coords, "lat": inputs.frames["lat"].values, "lon": inputs.frames["lon"].values},
        name="sensitivity",
    )
    da = da.assign_coords(masks_used=("time", used))
    flow = xr.DataArray(
        engine.baseline(targets).mean(0).numpy(),
        dims=("time", "station"),
        coords=coords,
        name="flow_model",
        attrs={"long_name": "modelled normalised flow (ensemble mean)", "units": "1"},
    )
    return da, flow
