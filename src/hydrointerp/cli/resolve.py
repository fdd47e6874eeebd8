"""The command line's ``--models``, ``--data``, ``--clusters`` and ``--shared`` as objects.

:func:`resolve_inputs` decides what each path is -- the shared or mini folder (the published
2011 mini year), a ``region.nc`` or a run dir holding one, a folder of published or saved models,
model files, or ``simulator`` -- loads it, and builds
:class:`~hydrointerp.experiments.inputs.ExperimentInputs` from the objects
(:meth:`~hydrointerp.experiments.inputs.ExperimentInputs.from_region`). Library code that knows
what its paths are (the pipeline) builds the objects itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.config import load_config
from hydrointerp.data import region as region_data
from hydrointerp.data.mini import read_mini
from hydrointerp.data.virtual_predictor import SimulatorPredictor
from hydrointerp.data.windows import Normaliser
from hydrointerp.errors import ConfigError, DataError
from hydrointerp.experiments.inputs import (
    ExperimentInputs,
    mini_stations,
    published_ensemble,
    region_stations,
)
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.saved import load_model
from hydrointerp.predictor import Predictor
from hydrointerp.published import LOOKBACK, has_published_models
from hydrointerp.shared import find_shared

#: ``--ensemble`` values.
ENSEMBLE_KINDS = ("bulk", "fine")
#: ``--models`` value that selects the virtual region's process simulator.
SIMULATOR = "simulator"
#: Suffixes of model files in a folder of saved models.
MODEL_SUFFIXES = (".h5", ".pt", ".pth")


# ------------------------------------------------------------------------- --data
def _is_shared(path: Path) -> bool:
    return (path / "data" / "cnn_lstm_era").is_dir()


def shared_root(data: Path | None, shared: str | os.PathLike[str] | None) -> Path:
    """The shared folder: ``data`` or a folder above it when it is one, else ``--shared``."""
    if data is not None:
        for cand in (data, *data.parents):
            if _is_shared(cand):
                return cand
    return find_shared(shared)


def resolve_data(data: str | os.PathLike[str] | None) -> tuple[str, Path | None]:
    """Classify ``--data``: ``("mini", folder or None)`` or ``("region", region.nc)``."""
    if data is None:
        return "mini", None
    p = Path(data)
    if p.is_file() and p.suffix == ".nc":
        return "region", p
    if p.is_dir() and (p / "region.nc").is_file():
        return "region", p / "region.nc"
    if p.is_dir() and (
        _is_shared(p)
        or (p / "x_intermediate_mini.pickle").is_file()
        or any(_is_shared(q) for q in p.parents)
    ):
        return "mini", p
    raise DataError(
        "cannot tell what --data is",
        source=str(p),
        expected="the shared/mini folder, a region.nc, or a run dir with region.nc",
        found="neither",
    )


def run_lookback(data: str | os.PathLike[str] | None) -> int:
    """The look-back of the run a ``--data`` region belongs to: ``windows.lookback`` of the
    ``config.yaml`` beside its ``region.nc`` (a run directory), else the published 365 days."""
    kind, path = resolve_data(data)
    if kind != "region" or path is None or not (path.parent / "config.yaml").is_file():
        return LOOKBACK
    return int(load_config(path.parent / "config.yaml").windows.lookback)


def find_normaliser(region_path: Path) -> Normaliser | None:
    """``normaliser.nc`` beside a region file or in the ``models`` folder beside it."""
    for cand in (
        region_path.parent / "normaliser.nc",
        region_path.parent / "models" / "normaliser.nc",
    ):
        if cand.is_file():
            return Normaliser.load(cand)
    return None


def read_clusters_csv(path: str | os.PathLike[str]) -> xr.DataArray:
    """``cluster(station)`` from a CSV with columns ``station`` (or ``station_id``), ``cluster``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("clusters file not found", source=str(path))
    table = pd.read_csv(path, dtype={"station": str, "station_id": str})
    id_col = "station" if "station" in table else "station_id"
    if id_col not in table or "cluster" not in table:
        raise DataError(
            "clusters file lacks columns",
            source=str(path),
            variable="columns",
            expected="station (or station_id) and cluster",
            found=list(table.columns),
        )
    ids = table[id_col].astype(str).str.strip().to_numpy(dtype=object)
    labels = table["cluster"].to_numpy(dtype=np.int64)
    da = xr.DataArray(labels, dims="station", coords={"station": ids}, name="cluster")
    return da.assign_attrs(source=str(path))


# ------------------------------------------------------------------------- --models
def _model_files(models: Sequence[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for m in models:
        p = Path(m)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in MODEL_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise DataError("model file or folder not found", source=str(p))
    if not files:
        raise DataError(
            "no model files found",
            source=", ".join(str(m) for m in models),
            expected="*.h5 or saved models (*.pt)",
            found="none",
        )
    return files


def _published_folder(models: Sequence[str | os.PathLike[str]]) -> Path | None:
    if len(models) == 1 and Path(models[0]).is_dir() and has_published_models(models[0]):
        return Path(models[0])
    return None


def build_predictor(
    models: Sequence[str | os.PathLike[str]],
    stations: xr.Dataset,
    ensemble: str = "fine",
    lookback: int = LOOKBACK,
    device: str = "cpu",
    n_members: int | None = None,
) -> Predictor:
    """A Predictor from model files or a folder (published models routed by the stations'
    clusters, or saved models as one bulk ensemble)."""
    if ensemble not in ENSEMBLE_KINDS:
        raise ConfigError(f"--ensemble must be one of {ENSEMBLE_KINDS}, got {ensemble!r}")
    folder = _published_folder(models)
    if folder is not None:
        return published_ensemble(folder, ensemble, stations, n_members, device)
    ids = [str(s) for s in stations["station"].values]
    members = [load_model(f, device) for f in _model_files(models)]
    return Ensemble(members, ids, lookback).to(device)


def _default_models(kind: str, data_path: Path | None, shared: object) -> list[Path]:
    if kind == "mini":
        return [shared_root(data_path, shared) / "data" / "cnn_lstm_era" / "models"]
    if data_path is not None and (data_path.parent / "models").is_dir():
        return [data_path.parent / "models"]
    raise ConfigError("--models is required (model files, a folder, or 'simulator')")


# ------------------------------------------------------------------------- entry point
def resolve_inputs(
    models: Sequence[str | os.PathLike[str]] | str | None,
    data: str | os.PathLike[str] | None,
    ensemble: str = "fine",
    clusters: str | os.PathLike[str] | None = None,
    shared: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    lookback: int | None = None,
    n_targets: int = 365,
    n_members: int | None = None,
) -> ExperimentInputs:
    """Resolve ``--models`` and ``--data`` into :class:`ExperimentInputs`.

    Parameters
    ----------
    models
        Model files, a folder of models (published ``model_bulk_*`` / ``model_fine_{i}_cluster_{k}``
        or saved models), or ``"simulator"`` for the virtual region's process simulator; default
        the published models (mini year) or the ``models`` folder beside the region.
    data
        The shared or mini folder (the published 2011 mini year), a ``region.nc`` (with
        ``normaliser.nc`` beside it for physical regions), or a run dir holding ``region.nc``.
    ensemble
        ``"fine"`` (cluster-routed fine-tuned ensemble, as published) or ``"bulk"``.
    clusters
        CSV with ``station,cluster``; default: the published clustering of the data.
    n_members
        Load only the first ``n_members`` published ensemble members (default: all).
    n_targets
        Number of evaluation days, the last ones with weather (the mini year: all 365 of 2011).
    lookback
        Input days per window; default the run's (:func:`run_lookback`) for a region of a run
        directory, else the published 365.

    Example
    -------
    >>> inputs = resolve_inputs("../shared/data/cnn_lstm_era/models", "../shared")  # doctest: +SKIP
    """
    kind, path = resolve_data(data)
    lookback = run_lookback(data) if lookback is None else lookback
    if isinstance(models, str | os.PathLike):
        models = [models]
    cluster = None if clusters is None else read_clusters_csv(clusters)
    if kind == "mini":
        root = shared_root(path, shared)
        region = read_mini(root)
        normaliser = None
        stations = mini_stations(root, region, cluster)
        source = f"published mini year from {root}"
    else:
        region = region_data.load(path)
        normaliser = find_normaliser(path)
        stations = region_stations(region, cluster)
        source = str(path)
    if models and [str(m) for m in models] == [SIMULATOR]:
        predictor: Predictor = SimulatorPredictor.from_normaliser(region, normaliser, lookback)
    else:
        model_list = list(models) if models else _default_models(kind, path, shared)
        predictor = build_predictor(model_list, stations, ensemble, lookback, device, n_members)
    return ExperimentInputs.from_region(predictor, region, stations, normaliser, n_targets, source)
