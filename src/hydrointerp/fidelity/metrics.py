"""Per-sample scores of an explanation against a known truth (pure, labelled in and out).

A *sample* is one explained output: a station (heat maps), a cluster and day (Experiment 1), a
regime group (Experiment 2)... Every function here takes labelled arrays whose non-map dimensions
are the sample dimensions, puts both arrays in the same dimension order (so a file written with
another order cannot silently pair wrong entries) and returns one score per sample.

The map metrics (each kept only because it passes the broken-explainer suite in
``tests/fidelity``; docs/fidelity.md says which broken explainers each one catches):

* :func:`support_pearson`, :func:`support_spearman` -- per-sample Pearson / Spearman correlation
  over the pixels where the truth is non-negligible and a ``halo`` of cells around them
  (Mamalakis et al. 2022 score a map by its per-sample correlation with the true one; restricting
  to the support keeps the half of the grid where the truth is ~0 from deciding the score);
* :func:`detection_auc` -- ROC AUC of the map as a detector of the truly contributing cells;
* :func:`centroid_distance` -- distance (cells) from the centre of mass of the map's excess over
  its median to the nearest contributing cell (lower is better);
* :func:`relevance_mass` -- share of the map's excess over its median that lies on the
  contributing cells, divided by the same share of the truth map (the mask-blurred ceiling).

A constant map carries no information: its correlations are 0 (not NaN) and its AUC is 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import ndimage, stats
from sklearn.metrics import roc_auc_score

from hydrointerp.errors import DataError

MAP_DIMS = ("lat", "lon")


@dataclass(frozen=True)
class Metric:
    """A registered score: its function, direction and unit."""

    name: str
    higher_is_better: bool
    units: str
    description: str


def _paired(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Inner-aligned ``a``, ``b`` broadcast against each other in one dimension order."""
    a, b = xr.align(a, b, join="inner")
    a, b = xr.broadcast(a, b)
    order = [d for d in a.dims if d not in MAP_DIMS] + [d for d in MAP_DIMS if d in a.dims]
    return a.transpose(*order), b.transpose(*order)


def _flat(a: xr.DataArray) -> tuple[np.ndarray, list[str], dict]:
    """``[samples, pixels]`` float64 of a ``(..., lat, lon)`` array, its sample dims, coords."""
    dims = [d for d in a.dims if d not in MAP_DIMS]
    n = int(np.prod([a.sizes[d] for d in dims])) if dims else 1
    coords = {d: a[d].values for d in dims if d in a.coords}
    return a.values.reshape(n, -1).astype(np.float64), dims, coords


def _labelled(values: np.ndarray, dims: list[str], like: xr.DataArray, name: str) -> xr.DataArray:
    shape = [like.sizes[d] for d in dims]
    coords = {d: like[d].values for d in dims if d in like.coords}
    return xr.DataArray(values.reshape(shape), dims=dims, coords=coords, name=name)


def support(truth: xr.DataArray, rel_floor: float = 0.01, halo: int = 2) -> xr.DataArray:
    """Pixels where ``|truth| > rel_floor * max|truth|`` (per sample), dilated by ``halo`` cells.

    The halo makes a one-cell basin's support its 5 x 5 neighbourhood, so the correlation also
    asks whether the map is low right next to the basin.
    """
    mag = np.abs(truth)
    core = mag > rel_floor * mag.max(MAP_DIMS)
    if halo <= 0:
        return core
    structure = np.ones((2 * halo + 1, 2 * halo + 1), dtype=bool)
    arr = core.transpose(..., *MAP_DIMS).values
    flat = arr.reshape(-1, *arr.shape[-2:])
    out = np.stack([ndimage.binary_dilation(m, structure) for m in flat]).reshape(arr.shape)
    return core.transpose(..., *MAP_DIMS).copy(data=out)


def _row_corr(x: np.ndarray, y: np.ndarray, keep: np.ndarray, rank: bool) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        k = keep[i]
        if k.sum() < 3:
            continue
        xi, yi = x[i, k], y[i, k]
        if np.ptp(yi) == 0:
            continue  # the truth does not vary here: undefined
        if np.ptp(xi) == 0:
            out[i] = 0.0  # a constant explanation carries no information
            continue
        if rank:
            xi, yi = stats.rankdata(xi), stats.rankdata(yi)
        out[i] = float(np.corrcoef(xi, yi)[0, 1])
    return out


def masked_correlation(
    maps: xr.DataArray,
    truth: xr.DataArray,
    keep: xr.DataArray,
    rank: bool = False,
    name: str = "correlation",
) -> xr.DataArray:
    """Per-sample Pearson (``rank``: Spearman) correlation of ``maps`` with ``truth`` on the
    pixels where ``keep`` is true (``keep`` broadcasts against the samples, e.g. per cluster)."""
    m, t = _paired(maps, truth)
    k = _paired(keep, t)[0].astype(bool)
    x, dims, _ = _flat(m)
    y, _, _ = _flat(t)
    kk, _, _ = _flat(k)
    return _labelled(_row_corr(x, y, kk.astype(bool), rank), dims, m, name)


def _support_corr(
    maps: xr.DataArray, truth: xr.DataArray, rel_floor: float, halo: int, rank: bool, name: str
) -> xr.DataArray:
    m, t = _paired(maps, truth)
    return masked_correlation(m, t, support(t, rel_floor, halo), rank, name)


def support_pearson(
    maps: xr.DataArray, truth: xr.DataArray, rel_floor: float = 0.01, halo: int = 2
) -> xr.DataArray:
    """Per-sample Pearson correlation of ``maps`` with ``truth`` on the truth's support."""
    return _support_corr(maps, truth, rel_floor, halo, False, "support_pearson")


def support_spearman(
    maps: xr.DataArray, truth: xr.DataArray, rel_floor: float = 0.01, halo: int = 2
) -> xr.DataArray:
    """Per-sample Spearman correlation of ``maps`` with ``truth`` on the truth's support."""
    return _support_corr(maps, truth, rel_floor, halo, True, "support_spearman")


def detection_auc(maps: xr.DataArray, labels: xr.DataArray) -> xr.DataArray:
    """Per-sample ROC AUC of ``maps`` detecting the pixels where ``labels`` is true (0.5 =
    chance, 1 = every true pixel ranked above every other)."""
    m, lab = _paired(maps, labels)
    x, dims, _ = _flat(m)
    y, _, _ = _flat(lab)
    y = y > 0
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        if y[i].all() or not y[i].any():
            continue
        out[i] = 0.5 if np.ptp(x[i]) == 0 else float(roc_auc_score(y[i], x[i]))
    return _labelled(out, dims, m, "detection_auc")


def excess(maps: xr.DataArray) -> xr.DataArray:
    """Each map's excess over its own median, clipped at 0 (removes a flat background)."""
    med = maps.median(MAP_DIMS)
    return (maps - med).clip(min=0)


def centroid_distance(maps: xr.DataArray, basin: xr.DataArray) -> xr.DataArray:
    """Distance in cells from the centre of mass of each map's :func:`excess` to the nearest
    cell of its basin (``basin > 0``); 0 when the centre lies on the basin. Lower is better."""
    m, b = _paired(excess(maps), basin)
    x, dims, _ = _flat(m)
    lab, _, _ = _flat(b)
    n_lat, n_lon = m.sizes["lat"], m.sizes["lon"]
    rr, cc = np.meshgrid(np.arange(n_lat), np.arange(n_lon), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        inside = lab[i] > 0
        total = x[i].sum()
        if not inside.any():
            continue
        if total <= 0:  # a constant map: its centre is the grid's centre
            r0, c0 = (n_lat - 1) / 2, (n_lon - 1) / 2
        else:
            r0, c0 = (x[i] * rr).sum() / total, (x[i] * cc).sum() / total
        d = np.hypot(rr[inside] - r0, cc[inside] - c0).min()
        out[i] = max(0.0, float(d) - 0.5)  # within half a cell of a basin cell counts as on it
    return _labelled(out, dims, m, "centroid_distance")


def _inside_share(maps: xr.DataArray, basin: xr.DataArray) -> np.ndarray:
    m, b = _paired(excess(maps), basin)
    x, _, _ = _flat(m)
    w, _, _ = _flat(b)
    total = x.sum(axis=1)
    inside = (x * (w > 0)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, 0.0)


def relevance_mass(
    maps: xr.DataArray, basin: xr.DataArray, ceiling_maps: xr.DataArray
) -> xr.DataArray:
    """Share of each map's :func:`excess` on its basin's cells, divided by the same share of
    ``ceiling_maps`` (the truth map, blurred by the same masks): 1 = as concentrated on the
    basin as the truth can be with this method, 0 = nothing on the basin."""
    m, b = _paired(maps, basin)
    _, dims, _ = _flat(m)
    share = _inside_share(m, b)
    ceiling = _inside_share(*_paired(ceiling_maps, b))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ceiling > 0, share / ceiling, np.nan)
    return _labelled(out, dims, m, "relevance_mass")


def pearson(values: xr.DataArray, truth: xr.DataArray, dim: str) -> xr.DataArray:
    """Pearson correlation along ``dim`` (0 for a constant explanation)."""
    a, b = _paired(values, truth)
    r = xr.corr(a, b, dim=dim)
    const = a.std(dim) == 0
    return r.where(~const, 0.0).rename("pearson")


def weighted_sign_agreement(
    values: xr.DataArray, truth: xr.DataArray, significant: xr.DataArray, dims: list[str]
) -> xr.DataArray:
    """Magnitude-weighted share of the truth's significant entries whose sign the explanation
    gets right, reduced over ``dims`` (0.5 = a coin, 1 = every significant sign right)."""
    a, t = _paired(values, truth)
    s = _paired(significant, t)[0].astype(bool)
    w = np.abs(t).where(s & np.isfinite(a) & np.isfinite(t), 0.0)
    right = (np.sign(a) == np.sign(t)) * 1.0 + (a == 0) * 0.5  # zero: no claim, half credit
    total = w.sum(dims)
    return ((right * w).sum(dims) / total.where(total > 0)).rename("weighted_sign_agreement")


def absolute_error(values: xr.DataArray, truth: xr.DataArray) -> xr.DataArray:
    """``|values - truth|`` entry by entry (lower is better)."""
    a, t = _paired(values, truth)
    return np.abs(a - t).rename("absolute_error")


def check_same_grid(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    """Refuse to score maps on different grids (a silent inner join would crop them)."""
    for d in MAP_DIMS:
        if d in a.dims and d in b.dims and not np.array_equal(a[d].values, b[d].values):
            raise DataError(
                f"{what}: explanation and truth are on different grids",
                variable=d,
                expected=f"{b.sizes[d]} values from {b[d].values[0]}",
                found=f"{a.sizes[d]} values from {a[d].values[0]}",
            )


MAP_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("support_pearson", True, "1", "Pearson r on the truth's support (+2-cell halo)"),
        Metric("support_spearman", True, "1", "Spearman r on the truth's support (+2-cell halo)"),
        Metric("detection_auc", True, "1", "ROC AUC of the map detecting contributing cells"),
        Metric("centroid_distance", False, "cells", "map centre of mass to nearest basin cell"),
        Metric("relevance_mass", True, "1", "map excess on the basin / truth's excess there"),
    )
}
