"""Facts of the published study (Anderson & Radić 2022; METHODS.md): each defined once, here.

Every module that needs one of them imports it from this module: the input channels and their
normalisation constants, the study grid, the window length, the six station clusters, the
regime counts, the ensemble size and seeds, and the file names of the 70 published models
(10 bulk ``model_bulk_{i}.h5`` and 60 fine-tuned ``model_fine_{i}_cluster_{k}.h5``). This module
depends on nothing else in the package, so any layer may import it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------------------ input channels
#: Input channel order of the published frames (METHODS.md section 1.1).
CHANNELS: tuple[str, ...] = ("tmax", "tmin", "precip")
#: Physical units of each channel.
CHANNEL_UNITS = {"tmax": "K", "tmin": "K", "precip": "mm day-1"}
#: Normalisation constants of the temperature channels over 1979-2000 (METHODS.md section 1.3,
#: with the swapped means corrected), in K; the precipitation std is unknown (only its ratio).
CHANNEL_MEAN = {"tmax": 280.5563132719942, "tmin": 274.30000759959273, "precip": np.nan}
CHANNEL_STD = {"tmax": 10.56131180032738, "tmin": 9.76836353862723, "precip": np.nan}
#: Mean over std of the precipitation channel (its only published normalisation fact).
PRECIP_MEAN_OVER_STD = 0.47480

# ------------------------------------------------------------------------------ grid and windows
#: The published ERA5 grid (METHODS.md section 1.1): centres of the outer cells and the step, deg.
GRID = {"north": 56.25, "south": 48.0, "west": -133.0, "east": -109.75, "resolution": 0.75}
#: Its shape, (lat, lon).
GRID_SHAPE = (12, 32)
#: Cell-centre latitudes (north to south) and longitudes (west to east).
GRID_LAT = GRID["north"] - GRID["resolution"] * np.arange(GRID_SHAPE[0])
GRID_LON = GRID["west"] + GRID["resolution"] * np.arange(GRID_SHAPE[1])
#: Look-back window of the published models, days.
LOOKBACK = 365

# ------------------------------------------------------------------------------ stations
#: The six station clusters by label: (name, station count, RGB colour / 256) (METHODS.md §3).
CLUSTERS: dict[int, tuple[str, int, tuple[int, int, int]]] = {
    0: ("Central", 52, (241, 135, 1)),
    1: ("Southern", 62, (205, 223, 160)),
    2: ("Eastern", 34, (159, 222, 249)),
    3: ("Coastal", 12, (233, 134, 207)),
    4: ("North-Western", 39, (21, 96, 121)),
    5: ("North-Eastern", 27, (100, 23, 35)),
}
#: Cluster names by label.
CLUSTER_NAMES: tuple[str, ...] = tuple(name for name, _, _ in CLUSTERS.values())
#: Station count of each cluster, by label.
CLUSTER_SIZES: dict[int, int] = {k: size for k, (_, size, _) in CLUSTERS.items()}
#: Stations per regime (METHODS.md section 6.0: glacial when G > 1 %, Coastal = pluvial).
REGIME_COUNTS = {"glacial": 45, "nival": 169, "pluvial": 12}

# ------------------------------------------------------------------------------ ensemble
#: Members of each published ensemble (bulk, and fine-tuned per cluster).
N_MEMBERS = 10
#: Seed step of the published members: member ``i`` was trained with seed ``11 i``.
SEED_STEP = 11


def member_seed(i: int) -> int:
    """The published training seed of ensemble member ``i`` (METHODS.md section 2.2)."""
    return SEED_STEP * int(i)


#: Seeds of the ten published members: 0, 11, ..., 99.
SEEDS: tuple[int, ...] = tuple(member_seed(i) for i in range(N_MEMBERS))

# ------------------------------------------------------------------------------ model files
#: Suffix of the published (Keras) model files.
MODEL_SUFFIX = ".h5"
#: A fine-tuned model's file stem ends in ``fine_{member}_cluster_{k}``.
FINE_STEM = re.compile(r"fine_(\d+)_cluster_(\d+)$")


def bulk_name(i: int) -> str:
    """File stem of bulk member ``i``: ``model_bulk_{i}``."""
    return f"model_bulk_{i}"


def fine_name(i: int, k: int) -> str:
    """File stem of member ``i`` fine-tuned on cluster ``k``: ``model_fine_{i}_cluster_{k}``."""
    return f"model_fine_{i}_cluster_{k}"


def stem_numbers(path: Path) -> tuple[int, ...]:
    """The numbers in a model file's stem, in order (its sort key: member, then cluster)."""
    return tuple(int(n) for n in re.findall(r"\d+", path.stem))


def published_members(models_dir: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """The published model files by kind: ``{"bulk": [...], "fine": [...]}`` (sorted by number).

    ``model_fine_0cluster_*`` (an obsolete run, METHODS.md section 2.4) is not matched.
    """
    root = Path(models_dir)
    bulk = sorted(root.glob(f"{bulk_name('*')}{MODEL_SUFFIX}"), key=stem_numbers)
    fine = sorted(root.glob(f"{fine_name('*', '*')}{MODEL_SUFFIX}"), key=stem_numbers)
    return {"bulk": bulk, "fine": fine}


def member_count(models_dir: str | os.PathLike[str], kind: str) -> int:
    """Ensemble members of ``kind`` (``"bulk"`` or ``"fine"``) in a folder of published models."""
    files = published_members(models_dir)[kind]
    if kind == "bulk":
        return len(files)
    return len({m.group(1) for f in files if (m := FINE_STEM.search(f.stem))})


def has_published_models(models_dir: str | os.PathLike[str]) -> bool:
    """Whether a folder holds published model files of either kind."""
    found = published_members(models_dir)
    return bool(found["bulk"] or found["fine"])
