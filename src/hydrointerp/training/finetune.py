"""Fine-tuning per station cluster (METHODS.md section 2.3).

For each cluster ``k`` and bulk member ``i``: copy bulk model ``i``, replace its dense head by a
freshly Glorot-initialised one with one output per station of the cluster, and retrain *all* layers
on the same windows with the targets restricted to the cluster (same optimiser settings and early
stopping). The per-cluster members, routed by cluster, predict every station
(:func:`routed_ensemble`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.data.windows import Windows
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.models.ensemble import Ensemble
from hydrointerp.models.saved import load_model
from hydrointerp.training.cluster import cluster_groups
from hydrointerp.training.config import TrainSettings
from hydrointerp.training.train import train_member


def _copy_with_head(bulk: CNNLSTM, weight: torch.Tensor, bias: torch.Tensor) -> CNNLSTM:
    """A copy of ``bulk`` (CNN and LSTM weights) with the dense head ``weight``, ``bias``."""
    model = CNNLSTM(dataclasses.replace(bulk.arch, n_out=int(weight.shape[0])))
    state = {k: v for k, v in bulk.state_dict().items() if not k.startswith("head.")}
    model.load_state_dict({**state, "head.weight": weight, "head.bias": bias})
    model.provenance = {"finetuned_from": bulk.provenance.get("source", "in memory")}
    return model


def with_new_head(bulk: CNNLSTM, n_out: int, seed: int) -> CNNLSTM:
    """A copy of ``bulk`` with a new dense head (Glorot-uniform, zero bias) of ``n_out`` units.

    The same seed gives the same head.
    """
    units = bulk.arch.lstm_units
    gen = torch.Generator().manual_seed(int(seed))
    bound = (6.0 / (units + n_out)) ** 0.5
    weight = torch.rand((int(n_out), units), generator=gen) * 2 * bound - bound
    return _copy_with_head(bulk, weight, torch.zeros(int(n_out)))


def head_from_bulk(bulk: CNNLSTM, rows: Sequence[int]) -> CNNLSTM:
    """A copy of ``bulk`` whose head keeps only the output ``rows`` (the cluster's stations).

    Fine-tuning then starts from the bulk model's own predictions for those stations (the
    ``head_init="bulk"`` setting) instead of a random head (published).
    """
    idx = torch.as_tensor(list(rows), dtype=torch.long)
    head = bulk.head
    return _copy_with_head(bulk, head.weight.detach()[idx].clone(), head.bias.detach()[idx].clone())


def cluster_start(
    bulk: CNNLSTM, bulk_stations: Sequence[str], stations: Sequence[str], seed: int, head_init: str
) -> CNNLSTM:
    """The model a cluster's fine-tuning starts from: a random (``"random"``, published) or the
    bulk model's (``"bulk"``) head for ``stations``."""
    if head_init == "bulk":
        pos = {str(s): i for i, s in enumerate(bulk_stations)}
        return head_from_bulk(bulk, [pos[str(s)] for s in stations])
    if head_init != "random":
        raise ValueError(f"head_init must be 'random' or 'bulk', got {head_init!r}")
    return with_new_head(bulk, len(stations), seed)


def finetune_clusters(
    windows: Windows,
    bulk_models: Sequence[CNNLSTM | str | os.PathLike[str]],
    clusters: xr.DataArray,
    settings: TrainSettings,
    seeds: Sequence[int],
    out_dir: str | os.PathLike[str],
    head_init: str = "random",
) -> dict[int, list[Path]]:
    """Fine-tune every bulk member on every cluster; ``{cluster: [path of member i, ...]}``.

    ``head_init``: see :func:`cluster_start`.

    Models are saved as ``out_dir/models/fine_<i>_cluster_<k>.pt`` (checkpointed and resumable like
    any member).
    """
    groups = cluster_groups(clusters)
    out: dict[int, list[Path]] = {k: [] for k in range(len(groups))}
    jobs = [(i, k) for i in range(len(bulk_models)) for k in range(len(groups))]
    for i, k in tqdm(jobs, desc="fine-tune", unit="model", disable=not settings.progress):
        bulk = bulk_models[i]
        bulk = load_model(bulk) if not isinstance(bulk, CNNLSTM) else bulk
        sub = windows.subset_stations(groups[k])
        init = cluster_start(
            bulk, windows.station_ids, groups[k], seeds[i] + 1000 * (k + 1), head_init
        )
        path = train_member(
            sub, settings, seeds[i], out_dir, init_model=init, name=f"fine_{i}_cluster_{k}"
        )
        out[k].append(path)
    return out


def routed_ensemble(
    fine: dict[int, Sequence[CNNLSTM | str | os.PathLike[str]]],
    clusters: xr.DataArray,
    station_ids: Sequence[str],
    lookback: int,
) -> Ensemble:
    """The fine-tuned ensemble: each cluster's models predict that cluster's stations."""
    groups = cluster_groups(clusters)
    built = {}
    for k, members in fine.items():
        models = [m if isinstance(m, CNNLSTM) else load_model(m) for m in members]
        built[k] = (models, groups[k])
    return Ensemble.routed(built, list(station_ids), lookback=lookback)


def bulk_ensemble(
    members: Sequence[CNNLSTM | str | os.PathLike[str]], station_ids: Sequence[str], lookback: int
) -> Ensemble:
    """The bulk ensemble from models or saved paths."""
    models = [m if isinstance(m, CNNLSTM) else load_model(m) for m in members]
    return Ensemble(models, list(station_ids), lookback=lookback)
