"""The starting model of a per-cluster fine-tune (METHODS.md section 2.3).

For each cluster ``k`` and bulk member ``i``: copy bulk model ``i``, replace its dense head by a
freshly Glorot-initialised one with one output per station of the cluster (:func:`cluster_start`),
then retrain *all* layers on the same windows with the targets restricted to the cluster (same
optimiser settings and early stopping). The pipeline's ``finetune`` stage
(:func:`hydrointerp.pipeline.model_stages.run_finetune`) runs one such task per (member, cluster)
and saves ``models/model_fine_<i>_cluster_<k>.pt``; the routed per-cluster members predict every
station.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hydrointerp.models.cnn_lstm import CNNLSTM


def _copy_with_head(bulk: CNNLSTM, weight: torch.Tensor, bias: torch.Tensor) -> CNNLSTM:
    """A copy of ``bulk`` (CNN and LSTM weights) with the dense head ``weight``, ``bias``."""
    model = CNNLSTM(bulk.arch.with_outputs(int(weight.shape[0])))
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
