"""The published Gaussian perturbation as one settings block, shared by every map experiment.

The heat map, Experiment 1 (daily maps) and Experiment 2 (channel importance) all perturb the
inputs the same way (METHODS.md 5.1): passes of ``iters_one_pass`` Gaussian bumps of width
``sigma`` cells and peak ``amplitude`` training standard deviations, until the relative change of
the running mean map is ``<= tol`` or ``iters_total`` masks were used. :class:`Perturbation` is
that block; each experiment includes it with its own published defaults.

Mask streams (:func:`pass_masks`): the masks of pass ``p`` come from a generator of their own,
``SeedSequence(seed, spawn_key=(0, p))`` for the shared set and
``SeedSequence(seed, spawn_key=(1, day, p))`` for a target day's own masks, where ``day`` is the
day's proleptic Gregorian ordinal (its index in the frames when no date is known). A day's masks
therefore never depend on which other days are computed with it (day blocks of a distributed
run, the days still open in a convergence loop, ``n_targets``/``target_step``), and a pass never
depends on the passes drawn before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hydrointerp.experiments.masks import MaskSet, SignMode, draw_masks

#: the same masks for every target day (fast engine path) or new masks per day (published)
MaskMode = Literal["shared", "per_day"]


class Perturbation(BaseModel):
    """Gaussian perturbation masks and their convergence rule.

    ``mask_mode="shared"`` (same masks for all target days) is the default because it is the fast
    engine path; ``"per_day"`` draws new masks per target day as published. ``sign_mode``:
    ``per_pass`` (published: one sign per pass) or ``per_mask``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma: float = Field(1.5, gt=0, description="width of each Gaussian bump (grid cells)")
    amplitude: float = Field(1.0, description="peak of a bump (training standard deviations)")
    iters_one_pass: int = Field(50, ge=1, description="masks per pass (count)")
    iters_total: int = Field(100, ge=1, description="most masks per target day (count)")
    tol: float = Field(1.0, ge=0, description="stop when the mean map changes less (relative)")
    mask_mode: MaskMode = Field("shared", description="shared | per_day")
    sign_mode: SignMode = Field("per_pass", description="per_pass | per_mask")
    truncate: float | None = Field(None, description="cut bumps beyond this radius (cells)")
    channels: tuple[int, ...] = Field((0, 1, 2), description="input channels perturbed (indices)")
    seed: int = Field(0, ge=0, description="seed of the mask streams")

    @model_validator(mode="after")
    def _passes(self) -> Perturbation:
        if self.iters_total < self.iters_one_pass:
            raise ValueError(
                f"need iters_one_pass <= iters_total, got {self.iters_one_pass}, {self.iters_total}"
            )
        return self

    def on_channels(self, channels: tuple[int, ...]) -> Perturbation:
        """The same perturbation of other input channels."""
        return self.model_copy(update={"channels": tuple(channels)})

    def reseeded(self, offset: int) -> Perturbation:
        """The same perturbation with independent draws (seed + ``offset``)."""
        return self.model_copy(update={"seed": self.seed + offset})

    def to_dict(self) -> dict:
        """Plain dict (NetCDF attributes, the resume key of a sweep)."""
        d = self.model_dump()
        d["channels"] = list(self.channels)
        return d


def draw_pass(rng: np.random.Generator, s: Perturbation, n_groups: int, shape: tuple) -> MaskSet:
    """One pass of masks; the signs carry the amplitude."""
    masks = draw_masks(
        rng, n_groups, s.iters_one_pass, shape, s.sigma, s.iters_one_pass, s.sign_mode, s.truncate
    )
    return MaskSet(masks.centres, masks.signs * np.float32(s.amplitude), masks.weights)


#: spawn-key tags of the shared-mask stream, the per-day mask streams and the per-day seeds of
#: the stochastic attribution methods
SHARED_STREAM, DAY_STREAM, METHOD_STREAM = 0, 1, 2


def day_keys(start: pd.Timestamp | None, targets: Sequence[int] | np.ndarray) -> np.ndarray:
    """Stream key of each target day: the proleptic Gregorian ordinal of its date when the date
    of ``frames[0]`` is known (``start``), else its index in the frames."""
    idx = np.asarray(targets, dtype=np.int64)
    return idx + (pd.Timestamp(start).toordinal() if start is not None else 0)


def day_seed(seed: int, key: int) -> int:
    """A torch seed of its own for the target day ``key`` (:func:`day_keys`): the noise of a
    stochastic attribution method (SmoothGrad, GradientSHAP) on a day never depends on which
    other days are computed with it."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(METHOD_STREAM, int(key)))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def pass_masks(
    s: Perturbation, pass_index: int, keys: Sequence[int] | np.ndarray, shape: tuple
) -> MaskSet:
    """The masks of pass ``pass_index``: one shared group (``mask_mode="shared"``; ``keys``
    unused) or one group per target day of ``keys`` (:func:`day_keys`), each from its own
    stream."""
    if s.mask_mode == "shared":
        ss = np.random.SeedSequence(s.seed, spawn_key=(SHARED_STREAM, int(pass_index)))
        return draw_pass(np.random.default_rng(ss), s, 1, shape)
    parts = [
        draw_pass(
            np.random.default_rng(
                np.random.SeedSequence(s.seed, spawn_key=(DAY_STREAM, int(k), int(pass_index)))
            ),
            s,
            1,
            shape,
        )
        for k in np.asarray(keys, dtype=np.int64)
    ]
    return MaskSet.joined(parts, axis=0)
