"""Hydrological regime groups of stations (METHODS.md section 6.0).

The Frontiers experiments report results for seven groups: Glacial (glacier fraction above a
threshold), Nival split by station cluster (Central, Southern, North-Western, North-Eastern,
Eastern) and Pluvial (the Coastal cluster). The virtual region carries its own regime truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.published import CLUSTER_NAMES

#: Panel order of the published ``channel_sensitivity.png`` (a..g).
GROUP_ORDER: tuple[str, ...] = (
    "Glacial",
    "Central",
    "Southern",
    "North-Western",
    "Coastal",
    "North-Eastern",
    "Eastern",
)
REGIMES: tuple[str, ...] = ("glacial", "nival", "pluvial")
#: Frame colours of the regime figures (METHODS.md section 6.0).
REGIME_COLOURS = {
    "glacial": "#DC3D4B",
    "nival": "#735573",
    "pluvial": "#6BB3C4",
    "plains": "#8C8C8C",
}


def cluster_name(cluster: xr.DataArray, names: Sequence[str] = CLUSTER_NAMES) -> xr.DataArray:
    """Cluster labels (ints or names) as names, ``cluster_name(station)``."""
    values = cluster.values
    if values.dtype.kind in "iuf":
        labels = values.astype(int)
        if labels.min() < 0 or labels.max() >= len(names):
            raise DataError(
                "cluster label without a name",
                variable="cluster",
                expected=f"labels 0..{len(names) - 1}",
                found=f"{labels.min()}..{labels.max()}",
            )
        out = np.asarray([names[i] for i in labels], dtype=object)
    else:
        out = values.astype(str).astype(object)
    return xr.DataArray(out, dims=cluster.dims, coords=cluster.coords, name="cluster_name")


def regime_groups(
    glacier_fraction: xr.DataArray,
    cluster: xr.DataArray,
    glacial_threshold: float = 0.01,
    pluvial_clusters: Sequence[str] = ("Coastal",),
    cluster_names: Sequence[str] = CLUSTER_NAMES,
) -> xr.DataArray:
    """The seven published regime groups of METHODS.md section 6.0.

    Parameters
    ----------
    glacier_fraction
        ``glacier_fraction(station)`` in 0..1.
    cluster
        ``cluster(station)`` as integer labels (official numbering) or names.
    glacial_threshold
        A station is glacial when its glacier fraction exceeds this (published: 0.01).
    pluvial_clusters
        Cluster names whose non-glacial stations are pluvial (published: Coastal).

    Returns
    -------
    xarray.DataArray
        ``group(station)`` (str): ``Glacial``, the cluster name for nival stations, or the pluvial
        cluster name; with the coarse ``regime(station)`` in {glacial, nival, pluvial} as coord.
    """
    if glacier_fraction.dims != ("station",) or cluster.dims != ("station",):
        raise DataError(
            "regime inputs must be indexed by station",
            variable="glacier_fraction/cluster",
            expected="dims ('station',)",
            found=f"{glacier_fraction.dims}, {cluster.dims}",
        )
    names = cluster_name(cluster, cluster_names).values
    g = glacier_fraction.values.astype(float)
    glacial = g > glacial_threshold
    pluvial = np.isin(names, list(pluvial_clusters)) & ~glacial
    group = np.where(glacial, "Glacial", names).astype(object)
    regime = np.where(glacial, "glacial", np.where(pluvial, "pluvial", "nival")).astype(object)
    return xr.DataArray(
        group,
        dims=("station",),
        coords={"station": glacier_fraction["station"].values, "regime": ("station", regime)},
        name="group",
        attrs={
            "long_name": "regime group",
            "glacial_threshold": glacial_threshold,
            "pluvial_clusters": ",".join(pluvial_clusters),
        },
    )


def groups_from_regime(regime: xr.DataArray) -> xr.DataArray:
    """Groups for a region that knows each station's regime (the virtual region's truth).

    ``group`` is the capitalised regime (Glacial, Nival, Pluvial, or any other label such as the
    simulator's Plains), ``regime`` the coarse label.
    """
    reg = np.asarray([str(r).lower() for r in regime.values], dtype=object)
    if any(not r for r in reg):
        raise DataError("empty regime label", variable="regime", expected=REGIMES, found="''")
    group = np.asarray([r.capitalize() for r in reg], dtype=object)
    return xr.DataArray(
        group,
        dims=("station",),
        coords={"station": regime["station"].values, "regime": ("station", reg)},
        name="group",
        attrs={"long_name": "regime group (simulator truth)"},
    )


def group_order(groups: xr.DataArray) -> list[str]:
    """Groups present, in the published panel order first, then any others sorted."""
    present = list(dict.fromkeys(str(g) for g in groups.values))
    known = [g for g in (*GROUP_ORDER, "Nival", "Pluvial", "Plains") if g in present]
    return known + sorted(set(present) - set(known))


def group_regime(groups: xr.DataArray) -> dict[str, str]:
    """Map each group to its coarse regime (for frame colours)."""
    return {str(g): str(r) for g, r in zip(groups.values, groups["regime"].values, strict=True)}
