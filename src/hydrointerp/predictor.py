"""The Predictor contract: what every experiment needs from a model, an ensemble or the truth.

A predictor maps blocks of normalised input days to normalised flow at its stations
(:meth:`Predictor.predict_block`) and says which networks it is made of
(:meth:`Predictor.network_groups`): groups of networks that each predict a set of its stations,
``members[i]`` of every group together forming ensemble member ``i``. A single network is one
group of one member over all its stations; the fine-tuned ensemble has one group per station
cluster; the virtual region's process simulator has no networks (an empty tuple), which is how
experiments know that gradient methods, cell states and weight randomisation do not apply.

Implemented by :class:`~hydrointerp.models.ensemble.Ensemble` (bulk or routed by cluster),
:class:`~hydrointerp.models.cnn_lstm.CNNLSTM` and
:class:`~hydrointerp.models.linear_window.LinearWindow` (single networks) and
:class:`~hydrointerp.data.virtual_predictor.SimulatorPredictor`. Experiments, the perturbation
engine and the attribution methods read the networks and their routing only through
:func:`networks`, :func:`member_count` and :func:`network_group` below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from hydrointerp.errors import DataError

#: Label of the one group of a bulk ensemble or a single network (all stations).
ALL_STATIONS = "all"


@dataclass(frozen=True)
class NetworkGroup:
    """Networks that predict the same stations of a predictor.

    Attributes
    ----------
    label
        The group's label: a cluster label ``k`` for the fine-tuned ensemble, ``"all"`` for a
        group that predicts every station.
    members
        ``members[i]`` belongs to ensemble member ``i``; each maps a window
        ``x[B, T, H, W, C]`` to ``y[B, len(station_ids)]``.
    station_ids
        The stations the group's networks output, in their output order.
    positions
        Index of each of ``station_ids`` in the predictor's ``station_ids``.
    """

    label: object
    members: tuple[nn.Module, ...]
    station_ids: tuple[str, ...]
    positions: tuple[int, ...]


@runtime_checkable
class Predictor(Protocol):
    """Maps normalised input days to normalised flow at ``station_ids``.

    ``predict_block(frames[P, D, H, W, C], targets) -> [P, len(targets), n_station]`` where the
    window of target ``t`` is ``frames[:, t - lookback : t]`` and ``lookback <= t <= D``.
    ``network_groups()`` gives its networks (empty for a predictor without any, the simulator);
    ``first_members(n)`` the same predictor with only ensemble members ``0 .. n - 1``.
    """

    station_ids: tuple[str, ...]
    lookback: int

    def predict_block(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray
    ) -> torch.Tensor: ...

    def network_groups(self) -> tuple[NetworkGroup, ...]: ...

    def first_members(self, n: int) -> Predictor: ...


def single_network(model: nn.Module, station_ids: Sequence[str]) -> tuple[NetworkGroup, ...]:
    """The network groups of a predictor that is one network over all ``station_ids``."""
    ids = tuple(str(s) for s in station_ids)
    return (NetworkGroup(ALL_STATIONS, (model,), ids, tuple(range(len(ids)))),)


def networks(predictor: Predictor) -> list[tuple[nn.Module, np.ndarray, int]]:
    """``(network, positions of its output stations, member)`` for every network, group by
    group (empty for a predictor without networks)."""
    return [
        (model, np.asarray(g.positions, dtype=np.int64), i)
        for g in predictor.network_groups()
        for i, model in enumerate(g.members)
    ]


def member_count(predictor: Predictor) -> int:
    """Ensemble members whose outputs are kept apart (1 for a single network or none)."""
    sizes = [len(g.members) for g in predictor.network_groups()]
    return max(sizes) if sizes else 1


def network_group(predictor: Predictor, label: object) -> NetworkGroup:
    """The networks of group ``label`` (a cluster); a predictor whose one group predicts every
    station (a bulk ensemble, a single network) gives that group for any label.

    Raises
    ------
    DataError
        When the predictor has no networks (the simulator) or no group ``label``.
    """
    groups = {g.label: g for g in predictor.network_groups()}
    if not groups:
        raise DataError(
            "cell states, probes and decoding need network models",
            variable="--models",
            expected="a model ensemble (not the simulator)",
            found=type(predictor).__name__,
        )
    if label in groups:
        return groups[label]
    if list(groups) == [ALL_STATIONS]:
        return groups[ALL_STATIONS]
    raise DataError(
        "no models for that cluster", variable="--cluster", expected=sorted(groups), found=label
    )
