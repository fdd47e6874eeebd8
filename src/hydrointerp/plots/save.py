"""Writing a figure: atomically (no half-written image is left), then closing it."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt

from hydrointerp.atomic import atomic_path


def save_figure(
    fig: plt.Figure, path: str | os.PathLike[str], dpi: int = 150, *, tight: bool = True
) -> Path:
    """Write ``fig`` atomically (format from the suffix, PNG without one) and close it.

    Parameters
    ----------
    fig
        The figure.
    path
        The image file.
    dpi
        Resolution (dots per inch).
    tight
        Crop to the drawn content (``bbox_inches="tight"``).
    """
    with atomic_path(path) as tmp:
        fig.savefig(
            tmp,
            dpi=dpi,
            bbox_inches="tight" if tight else None,
            format=Path(path).suffix.lstrip(".") or "png",
        )
    plt.close(fig)
    return Path(path)
