"""Terrain, glaciers, drainage and gauged basins of the virtual region.

The landscape is a synthetic southwestern Canada: ocean in the south-west, a coast range along a
NW-SE coastline, an interior plateau, a Rocky Mountain ridge running NW-SE and plains sloping to
the east. Features are placed in coordinates relative to the grid extent (``x`` west to east,
``y`` south to north, both 0..1) so any grid size holds the same landscape.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from hydrointerp.data.virtual_config import REGIMES, VirtualRegionConfig

EARTH_KM_PER_DEG = 111.195


@dataclass(frozen=True)
class Terrain:
    """Gridded landscape, all ``[lat, lon]`` with lat north to south."""

    lat: np.ndarray
    lon: np.ndarray
    elevation: np.ndarray  # m, 0 over the ocean
    land: np.ndarray  # bool
    coast_distance: np.ndarray  # relative x units east of the coastline (<0 at sea)
    continentality: np.ndarray  # 0 at the coast .. 1 far inland
    rockies_offset: np.ndarray  # relative x units east of the Rocky ridge crest
    glacier: np.ndarray  # glacier-covered fraction of each cell
    cell_area_km2: np.ndarray


def grid_axes(cfg: VirtualRegionConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (north to south) and longitudes (west to east)."""
    lat = cfg.lat_north - cfg.resolution * np.arange(cfg.n_lat)
    lon = cfg.lon_west + cfg.resolution * np.arange(cfg.n_lon)
    return lat, lon


def _relative(cfg: VirtualRegionConfig) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 1.0, cfg.n_lon)[None, :].repeat(cfg.n_lat, 0)
    y = np.linspace(1.0, 0.0, cfg.n_lat)[:, None].repeat(cfg.n_lon, 1)
    return x, y


def _ridge(offset: np.ndarray, width: float) -> np.ndarray:
    return np.exp(-0.5 * (offset / width) ** 2)


def make_terrain(cfg: VirtualRegionConfig, rng: np.random.Generator) -> Terrain:
    """Build the landscape for ``cfg`` (the random relief uses ``rng``)."""
    lat, lon = grid_axes(cfg)
    x, y = _relative(cfg)
    coast = x - (0.05 + 0.30 * (1.0 - y))  # coastline runs NW-SE
    rockies = x - (0.82 - 0.26 * y)  # ridge crest runs NW-SE
    land = coast > 0
    plateau = cfg.plateau_m / (1.0 + np.exp(-(coast - 0.19) / 0.03))
    plains = np.interp(rockies, [0.0, 0.45], [cfg.plains_west_m, cfg.plains_east_m])
    east = 1.0 / (1.0 + np.exp(-rockies / 0.025))
    base = (1.0 - east) * plateau + east * plains
    relief = cfg.coast_range_m * _ridge(coast - 0.15, 0.03) + cfg.rockies_m * _ridge(rockies, 0.03)
    noise = gaussian_filter(rng.standard_normal(x.shape), 1.5, mode="nearest")
    noise *= cfg.roughness_m / max(float(noise.std()), 1e-9)
    coastal_ramp = np.clip(coast / 0.14, 0.0, 1.0) ** 2
    elevation = np.maximum(coastal_ramp * (np.maximum(base, relief) + noise), 5.0)
    elevation = np.where(land, elevation, 0.0)
    glacier = cfg.glacier_max_fraction * np.clip(
        (elevation - cfg.glacier_elev_min_m) / (cfg.glacier_elev_full_m - cfg.glacier_elev_min_m),
        0.0,
        1.0,
    )
    area = (cfg.resolution * EARTH_KM_PER_DEG) ** 2 * np.cos(np.deg2rad(lat))[:, None]
    return Terrain(
        lat=lat,
        lon=lon,
        elevation=elevation,
        land=land,
        coast_distance=coast,
        continentality=np.clip(coast / 0.5, 0.0, 1.0),
        rockies_offset=rockies,
        glacier=np.where(land, glacier, 0.0),
        cell_area_km2=np.broadcast_to(area, elevation.shape).copy(),
    )


_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def drainage(terrain: Terrain) -> np.ndarray:
    """Downstream cell of every land cell (flat index; -1 for an outlet to the sea or edge).

    Priority flood from the sea and the grid edge: each land cell drains to the cell it was
    reached from, which fills pits and gives a tree of contiguous upstream areas.
    """
    n_lat, n_lon = terrain.elevation.shape
    down = np.full(n_lat * n_lon, -2, dtype=np.int64)  # -2: ocean or not reached
    heap: list[tuple[float, int, int]] = []
    order = 0
    for i in range(n_lat):
        for j in range(n_lon):
            if not terrain.land[i, j]:
                continue
            near_sea = any(
                0 <= i + di < n_lat and 0 <= j + dj < n_lon and not terrain.land[i + di, j + dj]
                for di, dj in _NEIGHBOURS
            )
            if near_sea or i in (0, n_lat - 1) or j in (0, n_lon - 1):
                down[i * n_lon + j] = -1
                heapq.heappush(heap, (terrain.elevation[i, j], order, i * n_lon + j))
                order += 1
    while heap:
        level, _, cell = heapq.heappop(heap)
        i, j = divmod(cell, n_lon)
        for di, dj in _NEIGHBOURS:
            a, b = i + di, j + dj
            if 0 <= a < n_lat and 0 <= b < n_lon and terrain.land[a, b]:
                if down[a * n_lon + b] == -2:
                    down[a * n_lon + b] = cell
                    filled = max(float(terrain.elevation[a, b]), level + 1e-3)
                    heapq.heappush(heap, (filled, order, a * n_lon + b))
                    order += 1
    return down


def upstream_masks(down: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``[cell, lat, lon]`` 0/1 mask of the cells draining through each cell (itself included)."""
    n = down.size
    masks = np.zeros((n, n), dtype=bool)
    for start in np.flatnonzero(down != -2):
        cell = start
        while cell >= 0:
            masks[cell, start] = True
            cell = down[cell]
    return masks.reshape((n, *shape))


@dataclass(frozen=True)
class Stations:
    """Gauged outlets and their basins."""

    row: np.ndarray
    col: np.ndarray
    mask: np.ndarray  # [station, lat, lon] 0/1
    regime: np.ndarray  # object, one of REGIMES
    area_km2: np.ndarray
    elevation_m: np.ndarray
    glacier_fraction: np.ndarray


def _basin_attributes(terrain: Terrain, masks: np.ndarray) -> dict[str, np.ndarray]:
    w = masks * terrain.cell_area_km2
    area = w.sum(axis=(1, 2))
    safe = np.where(area > 0, area, 1.0)
    mean = lambda field: (w * field).sum(axis=(1, 2)) / safe  # noqa: E731
    return {
        "area": area,
        "elevation": mean(terrain.elevation),
        "glacier": mean(terrain.glacier),
        "coast": mean(terrain.coast_distance),
        "rockies": mean(terrain.rockies_offset),
        "cells": masks.sum(axis=(1, 2)),
    }


def classify(attrs: dict[str, np.ndarray], cfg: VirtualRegionConfig) -> np.ndarray:
    """Regime of each candidate basin from its attributes (the truth label).

    Low interior basins between the pluvial coast and the nival uplands are ``hybrid`` (rain
    and snow in similar measure) and are not offered as gauges.
    """
    regime = np.full(attrs["area"].shape, "hybrid", dtype=object)  # never gauged
    regime[attrs["elevation"] >= cfg.nival_min_elev_m] = "nival"
    coastal = (attrs["elevation"] < cfg.pluvial_max_elev_m) & (attrs["coast"] < 0.16)
    regime[coastal] = "pluvial"
    regime[(attrs["rockies"] > 0.04) & (attrs["elevation"] < 1100.0)] = "plains"
    regime[attrs["glacier"] >= cfg.glacial_min_fraction] = "glacial"
    return regime


def _quotas(counts: dict[str, int], n: int) -> dict[str, int]:
    quota = {r: 0 for r in REGIMES}
    left = min(n, sum(counts.values()))
    while left > 0:
        for r in REGIMES:
            if left > 0 and quota[r] < counts[r]:
                quota[r] += 1
                left -= 1
    return quota


def _pick(idx: np.ndarray, k: int, key: np.ndarray | None, rng: np.random.Generator) -> list:
    if k >= idx.size:
        return list(idx)
    if key is None:
        return list(rng.choice(idx, size=k, replace=False))
    free = list(idx[np.argsort(key[idx], kind="stable")])
    chosen = []
    for target in np.linspace(key[idx].min(), key[idx].max(), k):
        best = min(free, key=lambda c: abs(key[c] - target))
        chosen.append(best)
        free.remove(best)
    return chosen


def choose_stations(
    terrain: Terrain, cfg: VirtualRegionConfig, rng: np.random.Generator
) -> Stations:
    """Pick ``cfg.n_stations`` outlets, balanced over the four regimes.

    Glacial basins are spread evenly over the range of glacier fraction; the others are drawn
    at random among basins of ``cfg.min_basin_cells`` to ``cfg.max_basin_cells`` cells.
    """
    masks = upstream_masks(drainage(terrain), terrain.elevation.shape)
    attrs = _basin_attributes(terrain, masks)
    regime = classify(attrs, cfg)
    cells = attrs["cells"]
    ok = (cells >= max(1, cfg.min_basin_cells)) & (cells <= cfg.max_basin_cells)
    chosen: list[int] = []
    counts = {r: int((ok & (regime == r)).sum()) for r in REGIMES}
    for r, k in _quotas(counts, cfg.n_stations).items():
        idx = np.flatnonzero(ok & (regime == r))
        chosen += _pick(idx, k, attrs["glacier"] if r == "glacial" else None, rng)
    chosen = sorted(int(c) for c in chosen)
    rows, cols = np.divmod(np.asarray(chosen, dtype=np.int64), terrain.elevation.shape[1])
    sel = np.asarray(chosen, dtype=np.int64)
    return Stations(
        row=rows,
        col=cols,
        mask=masks[sel].astype(np.float32),
        regime=regime[sel],
        area_km2=attrs["area"][sel],
        elevation_m=attrs["elevation"][sel],
        glacier_fraction=attrs["glacier"][sel],
    )
