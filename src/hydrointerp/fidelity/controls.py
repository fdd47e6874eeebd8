"""The runs behind every fidelity score: which predictor, which draws, where the file goes.

Every experiment of a study runs as the network (``model``) and, on a virtual region, as the
simulator (``simulator``: the truth). For honest scores the fidelity stage also needs
(FIDELITY.md rules 1-4):

=============== ============ ================ ====================================================
variant         predictor    seed offset      what it is for
=============== ============ ================ ====================================================
``simulator``   simulator    +1 000 003       the truth, with mask draws independent of the net's
``simulator_b`` simulator    +2 000 006       a second independent truth: the noise ceiling
``model_b``     network      +3 000 009       the network with new draws: its self-agreement
``random_head`` network      0 (same masks)   head re-initialised (cascading randomisation)
``random_lstm`` network      0                head and LSTM re-initialised
``random_all``  network      0                untrained network: randomisation and a baseline
``contribution`` simulator   --               the exact additive contribution truth (maps)
=============== ============ ================ ====================================================

The randomised networks keep the network's masks, so their change in score is the model's
alone. Outputs: ``experiments/<stem>.nc`` (``model``), ``experiments/simulator/<stem>.nc`` and
``experiments/controls/<variant>/<stem>.nc``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hydrointerp.fidelity.randomise import CASCADE

TRUTH_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class Variant:
    """One run of an experiment for the fidelity stage."""

    name: str
    predictor: str  # "model" or "simulator"
    seed_offset: int
    randomise: str | None
    folder: str  # under experiments/
    method: str | None = None  # an attribution method other than the experiment's own

    def path(self, stem: str) -> str:
        """The result's path relative to the run directory."""
        return "/".join(p for p in ("experiments", self.folder, f"{stem}.nc") if p)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("model", "model", 0, None, ""),
        Variant("simulator", "simulator", TRUTH_SEED_OFFSET, None, "simulator"),
        Variant("simulator_b", "simulator", 2 * TRUTH_SEED_OFFSET, None, "controls/simulator_b"),
        Variant("model_b", "model", 3 * TRUTH_SEED_OFFSET, None, "controls/model_b"),
        *(Variant(k, "model", 0, k, f"controls/{k}") for k in CASCADE),
        Variant("contribution", "simulator", 0, None, "controls/contribution"),
    )
}


def method_variants(method: str, controls: list[str]) -> list[Variant]:
    """The runs of a further attribution method: on the network (``model:<method>``) and, when
    ``random_all`` is a control, on the untrained network (``random_all:<method>``)."""
    out = [dataclasses.replace(VARIANTS["model"], name=f"model:{method}", method=method)]
    if "random_all" in controls:
        base = VARIANTS["random_all"]
        out.append(dataclasses.replace(base, name=f"random_all:{method}", method=method))
    return out


def variant_named(name: str) -> Variant:
    """The variant of a task name: a :data:`VARIANTS` key or ``<variant>:<method>``."""
    if name in VARIANTS:
        return VARIANTS[name]
    base, _, method = name.partition(":")
    return dataclasses.replace(VARIANTS[base], name=name, method=method)


#: controls that only make sense for experiments with random draws (masks)
DRAW_CONTROLS = ("simulator_b", "model_b")
PARTIAL_RANDOMISATION = ("random_head", "random_lstm")


def variants_for(
    experiment: str,
    supports: tuple[str, ...],
    requested: list[str],
    cascade: list[str],
    with_truth: bool,
) -> list[Variant]:
    """The runs of ``experiment``: the network, the truth (if the region has one) and the
    requested controls the experiment ``supports``."""
    out = [VARIANTS["model"]]
    if not with_truth:
        return out
    out.append(VARIANTS["simulator"])
    for name in requested:
        if name not in supports:
            continue
        if name in PARTIAL_RANDOMISATION and experiment not in cascade:
            continue
        out.append(VARIANTS[name])
    return out
