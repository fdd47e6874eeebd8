"""Cascading model-parameter randomisation (Adebayo et al. 2018), the fidelity sanity check.

The network's blocks are re-initialised from the top down -- the dense head, then also the LSTM
(with the day projection), then also the CNN -- with the distributions the untrained network
starts from. An interpretation that explains the *trained* network must change when its
weights do; one whose score against the truth does not drop is flagged in the table. The last
level is an untrained network of the same architecture, which also serves as a baseline.
"""

from __future__ import annotations

import copy

import torch

from hydrointerp.errors import DataError
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.predictor import Predictor

#: variant name -> blocks re-initialised (each level includes the ones above it)
CASCADE: dict[str, tuple[str, ...]] = {
    "random_head": ("head",),
    "random_lstm": ("head", "lstm"),
    "random_all": ("head", "lstm", "cnn"),
}


def networks(predictor: object) -> tuple[CNNLSTM, ...]:
    """The CNN-LSTMs of a predictor (its network groups' members, group by group), whose blocks
    the cascade re-initialises; a predictor without networks or with others is refused."""
    groups = predictor.network_groups() if isinstance(predictor, Predictor) else ()
    members = tuple(m for g in groups for m in g.members)
    if not members or not all(isinstance(m, CNNLSTM) for m in members):
        raise DataError(
            "model-parameter randomisation needs CNN-LSTM networks",
            variable="predictor",
            expected="CNNLSTM or Ensemble",
            found=type(predictor).__name__,
        )
    return members


def randomised(predictor: object, level: str, seed: int = 0) -> object:
    """A copy of ``predictor`` whose networks have the blocks of ``CASCADE[level]``
    re-initialised (member ``i`` with seed ``seed + i``); the original is untouched."""
    if level not in CASCADE:
        raise DataError(
            "unknown randomisation level", variable="level", expected=list(CASCADE), found=level
        )
    out = copy.deepcopy(predictor)
    for i, net in enumerate(networks(out)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + i)
            net.reset_parameters_keras(CASCADE[level])
        net.eval()
    return out
