"""Collect a run folder's results, score them all, and write the fidelity table.

Layout read (written by the experiment stages, :mod:`hydrointerp.fidelity.controls`):

* ``experiments/<stem>.nc`` -- the network's result (published perturbation method) and
  ``experiments/<stem>_<method>.nc`` for the other attribution methods;
* ``experiments/simulator/<stem>.nc`` -- the simulator's (the truth; independent draws);
* ``experiments/controls/<variant>/<stem>.nc`` -- ``simulator_b``, ``model_b``,
  ``random_head``, ``random_lstm``, ``random_all`` and ``contribution`` (the exact truth).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.experiments.attribution_methods import METHODS, result_name
from hydrointerp.experiments.base import Scorer
from hydrointerp.experiments.catalog import registry
from hydrointerp.experiments.output import find_result, open_experiment
from hydrointerp.fidelity.bundle import Bundle
from hydrointerp.fidelity.skill import COLUMNS, verdict


def _open(stem: Path) -> xr.Dataset | None:
    """The result ``<stem>.nc`` (loaded) or ``<stem>.zarr`` (opened lazily), or None."""
    path = find_result(stem)
    if path is None:
        return None
    if path.suffix == ".zarr":
        return open_experiment(path)
    return xr.load_dataset(path, engine="h5netcdf")


def _method_files(exp: Path, stem: str) -> dict[str, xr.Dataset]:
    """The results of every registered attribution method found in ``exp``."""
    found: dict[str, xr.Dataset] = {}
    for method in METHODS:
        ds = _open(exp / result_name(stem, method))
        if ds is not None:
            found[method] = ds
    return found


def scorers() -> dict[str, Scorer]:
    """The scorer of every output file stem of every registered experiment (its
    :attr:`~hydrointerp.experiments.base.Experiment.scores` hook)."""
    return {stem: fn for cls in registry().values() for stem, fn in cls.scores.items()}


def bundles(run_dir: Path, region: xr.Dataset | None, n_boot: int) -> list[Bundle]:
    """A :class:`Bundle` per scored output that has a network result."""
    exp = run_dir / "experiments"
    out = []
    for stem in scorers():
        model = _method_files(exp, stem)
        if not model:
            continue
        controls: dict[str, xr.Dataset] = {}
        method_controls: dict[str, dict[str, xr.Dataset]] = {}
        ctl_dir = exp / "controls"
        if ctl_dir.is_dir():
            for variant in sorted(p.name for p in ctl_dir.iterdir() if p.is_dir()):
                for method, ds in _method_files(ctl_dir / variant, stem).items():
                    if method == "perturbation":
                        controls[variant] = ds
                    else:
                        method_controls.setdefault(method, {})[variant] = ds
        out.append(
            Bundle(
                stem,
                model,
                _open(exp / "simulator" / stem),
                controls,
                controls.pop("contribution", None),
                region,
                None,
                n_boot,
                method_controls,
            )
        )
    return out


def fidelity_table(
    run_dir: str | os.PathLike[str], region: xr.Dataset | None = None, n_boot: int = 1000
) -> pd.DataFrame:
    """Score every experiment of ``run_dir`` against the simulator's truth.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~hydrointerp.fidelity.skill.COLUMNS` plus ``verdict``: one row per
        experiment, method, metric and truth (the network's methods, the randomised networks
        as ``<method>:random_*`` and the two reference levels ``noise_ceiling`` and
        ``self_agreement``).
    """
    run = Path(run_dir)
    if region is None and (run / "region.nc").is_file():
        region = xr.load_dataset(run / "region.nc", engine="h5netcdf")
    rows = []
    score = scorers()
    for b in bundles(run, region, n_boot):
        rows += [r.as_dict() for r in score[b.name](b)]
    if not rows:
        exp = run / "experiments"
        raise DataError(
            "nothing to score: no experiment has both a network and a simulator result",
            source=str(exp),
            expected="experiments/<name>.nc and experiments/simulator/<name>.nc",
            found=sorted(p.name for p in exp.glob("**/*.nc"))
            + sorted(p.name for p in exp.glob("**/*.zarr"))
            if exp.is_dir()
            else [],
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["verdict"] = [verdict(r) for r in table.to_dict("records")]
    return table


def table_dataset(table: pd.DataFrame) -> xr.Dataset:
    """The table as a Dataset on ``row`` (numbers as variables, labels as coordinates)."""
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    labels = [c for c in table.columns if c not in numeric]
    ds = xr.Dataset(
        {c: ("row", table[c].to_numpy(float)) for c in numeric},
        coords={c: ("row", table[c].astype(str).to_numpy()) for c in labels},
    )
    ds.attrs.update(
        title="hydrointerp fidelity: interpretations scored against the simulator's truth",
        Conventions="CF-1.8",
        skill="(value - baseline) / (ceiling - baseline); intervals: paired bootstrap, 95 %",
    )
    return ds


#: the columns a reader needs first (CLI printout and report table)
SUMMARY = ("experiment", "method", "metric", "truth", "value", "skill", "skill_low", "skill_high")

REFERENCE_METHODS = ("noise_ceiling", "self_agreement", "method_on_simulator")


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """The rows a reader needs first: the network's methods (no references, no randomised)."""
    method = table["method"].astype(str)
    return table[~method.str.contains(":") & ~method.isin(REFERENCE_METHODS)]


def references(table: pd.DataFrame) -> pd.DataFrame:
    """The reference rows: noise ceiling, self-agreement and the randomised networks."""
    method = table["method"].astype(str)
    return table[method.str.contains(":") | method.isin(REFERENCE_METHODS)]
