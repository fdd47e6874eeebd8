"""Perturbation masks: 2-D Gaussian bumps at random integer centres with random signs.

METHODS.md section 5.1: ``p(y, x) = exp(-((x - x0)^2 + (y - y0)^2) / (2 sigma^2))`` with integer
centres drawn uniformly over the grid, peak 1 (one training std in normalised units). The
published code draws one sign per day per pass, shared by all masks of that pass
(``sign_mode="per_pass"``); ``"per_mask"`` draws a sign for every mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from hydrointerp.errors import ConfigError

#: one sign per pass (published) or per mask
SignMode = Literal["per_pass", "per_mask"]
SIGN_MODES = get_args(SignMode)


@dataclass(frozen=True)
class MaskSet:
    """Masks for one or several target days.

    Attributes
    ----------
    centres
        ``[G, M, 2]`` integer (row, col) centres; ``G`` is 1 (masks shared by all target days) or
        the number of target days (new masks per day).
    signs
        ``[G, M]`` float32, +1 or -1.
    weights
        ``[G, M, H, W]`` float32 Gaussian bumps (unsigned, peak 1 at the centre).
    """

    centres: np.ndarray
    signs: np.ndarray
    weights: np.ndarray

    @property
    def n_masks(self) -> int:
        """Masks per target day."""
        return int(self.weights.shape[1])

    @property
    def shared(self) -> bool:
        """True when all target days use the same masks."""
        return self.weights.shape[0] == 1

    @classmethod
    def joined(cls, parts: list[MaskSet], axis: int) -> MaskSet:
        """Mask sets joined along groups (``axis=0``: days) or masks (``axis=1``: passes)."""
        return cls(
            np.concatenate([p.centres for p in parts], axis=axis),
            np.concatenate([p.signs for p in parts], axis=axis),
            np.concatenate([p.weights for p in parts], axis=axis),
        )

    def for_group(self, g: int) -> MaskSet:
        """The masks of group ``g`` (one target day, or the shared set) as a one-group set."""
        return MaskSet(self.centres[g : g + 1], self.signs[g : g + 1], self.weights[g : g + 1])


def gaussian_bumps(
    centres: np.ndarray, shape: tuple[int, int], sigma: float = 1.5, truncate: float | None = None
) -> np.ndarray:
    """``[..., H, W]`` float32 bumps of peak 1 at integer ``centres[..., 2]`` (row, col).

    ``truncate`` (cells) sets the bump to exactly 0 farther than that from its centre (None: the
    published untruncated Gaussian; 0.5 gives single-cell perturbations).
    """
    rows = np.arange(shape[0], dtype=np.float64)
    cols = np.arange(shape[1], dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    dy = rows[None, :] - c[..., 0:1]  # [..., H]
    dx = cols[None, :] - c[..., 1:2]  # [..., W]
    d2 = dy[..., :, None] ** 2 + dx[..., None, :] ** 2
    bumps = np.exp(-d2 / (2.0 * sigma**2))
    if truncate is not None:
        bumps = np.where(d2 <= truncate**2, bumps, 0.0)
    return bumps.astype(np.float32)


def draw_masks(
    rng: np.random.Generator,
    n_groups: int,
    n_masks: int,
    shape: tuple[int, int],
    sigma: float = 1.5,
    pass_size: int | None = None,
    sign_mode: str = "per_pass",
    truncate: float | None = None,
) -> MaskSet:
    """Draw ``n_groups`` x ``n_masks`` Gaussian masks with signs.

    Parameters
    ----------
    rng
        Seeded generator (the only source of randomness).
    n_groups
        1 for masks shared across target days, else one group per target day.
    n_masks
        Masks per group.
    shape
        Grid ``(H, W)``.
    sigma
        Bump width in grid cells (published 1.5).
    pass_size
        Masks per pass; with ``sign_mode="per_pass"`` each block of ``pass_size`` masks shares
        one sign (published). Default: all ``n_masks`` form one pass.
    sign_mode
        ``"per_pass"`` or ``"per_mask"``.
    truncate
        Radius (cells) beyond which the bumps are 0; None for the published full Gaussian.
    """
    if sign_mode not in SIGN_MODES:
        raise ConfigError(f"sign_mode must be one of {SIGN_MODES}, got {sign_mode!r}")
    if n_masks < 1 or n_groups < 1:
        raise ConfigError(f"need at least one mask and group, got {n_groups} x {n_masks}")
    rows = rng.integers(0, shape[0], size=(n_groups, n_masks))
    cols = rng.integers(0, shape[1], size=(n_groups, n_masks))
    centres = np.stack([rows, cols], axis=-1)
    if sign_mode == "per_mask":
        signs = rng.choice([-1.0, 1.0], size=(n_groups, n_masks))
    else:
        size = pass_size or n_masks
        n_pass = -(-n_masks // size)
        per_pass = rng.choice([-1.0, 1.0], size=(n_groups, n_pass))
        signs = np.repeat(per_pass, size, axis=1)[:, :n_masks]
    weights = gaussian_bumps(centres, shape, sigma, truncate)
    return MaskSet(centres.astype(np.int64), signs.astype(np.float32), weights)
