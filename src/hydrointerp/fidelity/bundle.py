"""The files of one experiment in a run, and the rows every scorer builds from them.

A scorer (:attr:`hydrointerp.experiments.base.Experiment.scores`) reads a :class:`Bundle` and
returns :class:`~hydrointerp.fidelity.skill.ScoreRow` rows. Where a control is missing (no
independent truth run, no untrained network) the row still comes, without the skill that needs
it. ``docs/fidelity.md`` explains each metric and which broken explainers it was kept for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from hydrointerp.experiments.attribution_methods import COMPLETENESS_TOL
from hydrointerp.fidelity.skill import ScoreRow, reference_row, skill_row

MIN_CONVERGED_MASKS = 160  # masks per day below which an unconverged map is flagged


@dataclass
class Bundle:
    """The files of one experiment in a run folder.

    ``model`` maps an attribution method to the network's result; ``truth`` is the simulator's
    (independent draws); ``controls`` holds ``simulator_b`` (a second independent truth: the
    noise ceiling), ``model_b`` (the network with other draws: self-agreement) and the
    randomised networks ``random_head``, ``random_lstm``, ``random_all`` (untrained);
    ``contribution`` the exact additive truth; ``region`` the virtual region.
    """

    name: str
    model: dict[str, xr.Dataset]
    truth: xr.Dataset | None
    controls: dict[str, xr.Dataset] = field(default_factory=dict)
    contribution: xr.Dataset | None = None
    region: xr.Dataset | None = None
    masks: object | None = None  # MaskSet of the network's perturbation run (shared masks)
    n_boot: int = 1000
    method_controls: dict[str, dict[str, xr.Dataset]] = field(default_factory=dict)

    def controls_of(self, method: str) -> dict[str, xr.Dataset]:
        """The control runs of one attribution method (the experiment's own, or a further one
        of ``fidelity.methods``, e.g. its untrained network ``random_all``)."""
        return self.controls if method == "perturbation" else self.method_controls.get(method, {})


RANDOMISED = ("random_head", "random_lstm", "random_all")


def is_converged(ds: xr.Dataset) -> bool:
    """True unless a mask experiment stopped at its mask budget below
    :data:`MIN_CONVERGED_MASKS` (its tolerance never bound), or an integrated-gradients map's
    own completeness check missed its totals by more than
    :data:`~hydrointerp.experiments.attribution_methods.COMPLETENESS_TOL`."""
    if float(ds.attrs.get("completeness_gap", 0.0)) > COMPLETENESS_TOL:
        return False
    if "masks_per_day" in ds.attrs:
        used = int(ds.attrs["masks_per_day"])
    elif "masks_used" in ds.coords:
        used = int(ds["masks_used"].min())
    elif "masks_used_min" in ds.attrs:
        used = int(ds.attrs["masks_used_min"])
    else:
        return True  # not a mask experiment
    try:
        total = int(json.loads(str(ds.attrs.get("settings_json", "{}"))).get("iters_total", 0))
    except (json.JSONDecodeError, TypeError, ValueError):
        total = 0
    return used >= MIN_CONVERGED_MASKS or (0 < used < total)


def rows_for(
    b: Bundle,
    experiment: str,
    method: str,
    truth_name: str,
    draws: list[xr.DataArray],
    baselines: dict[str, xr.DataArray],
    ceiling: xr.DataArray | None,
    randomised: dict[str, xr.DataArray],
    metric: Callable[[xr.DataArray], xr.DataArray],
    name: str,
    unit_dim: str,
    higher: bool,
    units: str,
    converged: bool,
) -> list[ScoreRow]:
    """A skill row for the method, reference rows for the randomised networks, and the
    randomisation flag (the trained network must score better than every randomised one)."""
    scores = xr.concat([metric(d) for d in draws], dim="draw")
    base = {k: metric(v) for k, v in baselines.items()}
    ceil = metric(ceiling) if ceiling is not None else None
    row = skill_row(
        experiment,
        method,
        name,
        truth_name,
        scores,
        base,
        ceil,
        unit_dim,
        higher,
        units,
        converged,
        b.n_boot,
    )
    out = [row]
    sign = 1.0 if higher else -1.0
    for level, maps in randomised.items():
        r = reference_row(
            experiment,
            f"{method}:{level}",
            name,
            truth_name,
            metric(maps),
            unit_dim,
            higher,
            units,
            b.n_boot,
        )
        out.append(r)
        if np.isfinite(r.value) and np.isfinite(row.low) and sign * (row.low - r.value) <= 0:
            if "randomisation_not_dropped" not in row.flags:
                row.flags.append("randomisation_not_dropped")
    return out


# ------------------------------------------------------------------------------ heat maps
def truth_sensitivity(ds: xr.Dataset) -> xr.DataArray:
    """The un-normalised, non-negative map of a result (z-scored maps hide the support)."""
    if "raw_sensitivity_member" in ds:
        return ds["raw_sensitivity_member"].mean("member")
    return ds["sensitivity"]
