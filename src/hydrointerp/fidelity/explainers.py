"""Broken and trivial explainers: what a fidelity score must beat to mean anything.

Each function builds an "explanation" in the layout of a real one but without the information a
faithful explanation carries (FIDELITY.md rule 4; Adebayo et al. 2018; XAI-TRIS 2024):

* :func:`shuffled` -- the real map's pixels permuted (same values, no location);
* :func:`constant` -- the same value everywhere;
* :func:`distance_to_centre` -- a station-blind bump on the grid's centre;
* :func:`other_station` -- each sample gets another sample's real map (right kind of map, wrong
  basin);
* :func:`same_mask_random` -- random weights on the very masks the perturbation run used (what
  the shared-mask noise alone produces);
* :func:`lag_shifted` -- a daily explanation shifted in time (right maps, wrong days);
* :func:`time_mean` -- a daily explanation replaced by its own time mean (no daily information).

Priors that use the truth of *other* samples (:func:`leave_one_out_prior`) are the fair
"regime prior": what a user would guess from the other stations of the same regime.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hydrointerp.experiments.masks import MaskSet
from hydrointerp.fidelity.metrics import MAP_DIMS


def shuffled(maps: xr.DataArray, seed: int = 0) -> xr.DataArray:
    """Every map's pixels randomly permuted (one permutation per sample)."""
    rng = np.random.default_rng(seed)
    arr = maps.transpose(..., *MAP_DIMS).values
    flat = arr.reshape(-1, arr.shape[-2] * arr.shape[-1]).copy()
    for row in flat:
        rng.shuffle(row)
    return maps.transpose(..., *MAP_DIMS).copy(data=flat.reshape(arr.shape)).rename("shuffled")


def constant(maps: xr.DataArray) -> xr.DataArray:
    """The same value (1) in every pixel."""
    return xr.ones_like(maps).rename("constant")


def distance_to_centre(maps: xr.DataArray) -> xr.DataArray:
    """Minus the distance (cells) to the grid's centre, the same for every sample."""
    n_lat, n_lon = maps.sizes["lat"], maps.sizes["lon"]
    rr, cc = np.meshgrid(np.arange(n_lat), np.arange(n_lon), indexing="ij")
    bump = -np.hypot(rr - (n_lat - 1) / 2, cc - (n_lon - 1) / 2)
    field = xr.DataArray(bump, dims=MAP_DIMS, coords={d: maps[d] for d in MAP_DIMS})
    return (xr.zeros_like(maps) + field).transpose(*maps.dims).rename("distance_to_centre")


def other_station(
    maps: xr.DataArray, dim: str = "station", shift: int | None = None
) -> xr.DataArray:
    """Each sample along ``dim`` gets the map of the sample ``shift`` places on (default half
    the samples, so no sample keeps its own map), labels unchanged."""
    n = maps.sizes[dim]
    k = (n // 2 if shift is None else shift) % n or 1
    rolled = maps.roll({dim: k}, roll_coords=False)
    return rolled.rename("other_station")


def same_mask_random(masks: MaskSet, like: xr.DataArray, seed: int = 0) -> xr.DataArray:
    """Random non-negative weights on the run's own masks: ``sum_m u_m |p_m|`` per sample.

    ``masks`` holds the shared masks (``G = 1``) of the perturbation run that ``like`` came
    from; every sample gets its own weights.
    """
    rng = np.random.default_rng(seed)
    sample_dims = [d for d in like.dims if d not in MAP_DIMS]
    n = int(np.prod([like.sizes[d] for d in sample_dims])) if sample_dims else 1
    w = masks.weights[0].astype(np.float64)  # [M, H, W]
    u = rng.uniform(size=(n, w.shape[0]))
    maps = np.einsum("nm,mhw->nhw", u, w)
    out = like.transpose(*sample_dims, *MAP_DIMS).copy(
        data=maps.reshape(*[like.sizes[d] for d in sample_dims], *w.shape[1:])
    )
    return out.rename("same_mask_random")


def lag_shifted(daily: xr.DataArray, days: int = 91, dim: str = "time") -> xr.DataArray:
    """A daily explanation moved ``days`` steps along ``dim`` (cyclically), labels unchanged."""
    return daily.roll({dim: days}, roll_coords=False).rename("lag_shifted")


def time_mean(daily: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """A daily explanation replaced by its own mean over ``dim``, repeated every day."""
    return (xr.zeros_like(daily) + daily.mean(dim)).transpose(*daily.dims).rename("time_mean")


def leave_one_out_prior(truth: xr.DataArray, groups: xr.DataArray, dim: str) -> xr.DataArray:
    """For each sample along ``dim``, the mean truth of the *other* samples of its group
    (``groups(dim)``, e.g. the regime); the whole-region mean where a group has one sample."""
    g = groups.sel({dim: truth[dim].values}).values if dim in groups.dims else groups.values
    out = np.empty_like(truth.transpose(dim, ...).values, dtype=np.float64)
    arr = truth.transpose(dim, ...).values.astype(np.float64)
    for i in range(arr.shape[0]):
        same = (g == g[i]) & (np.arange(arr.shape[0]) != i)
        pick = same if same.any() else np.arange(arr.shape[0]) != i
        out[i] = np.nanmean(arr[pick], axis=0)
    return truth.transpose(dim, ...).copy(data=out).transpose(*truth.dims).rename("prior")


#: the map explainers every map metric must beat (name -> builder of (maps) -> maps)
MAP_BROKEN = {
    "shuffled": shuffled,
    "constant": constant,
    "distance_to_centre": distance_to_centre,
    "other_station": other_station,
}
