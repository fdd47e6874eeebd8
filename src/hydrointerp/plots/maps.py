"""Map helpers shared by every figure on the study grid (lat north to south, lon west to east).

Fields are drawn as pixels with their true edges (``map_extent``), basins as outlines following
cell edges, gauges as dots, and the Canadian province borders from the shared shapefile.

Example
-------
>>> fig, ax = plt.subplots()  # doctest: +SKIP
>>> im = imshow_field(ax, sensitivity, cmap="RdBu_r", symmetric=True)  # doctest: +SKIP
>>> add_colorbar(ax, im, "S(x, y)")  # doctest: +SKIP
>>> draw_basins(ax, region["basin_mask"], color="white")  # doctest: +SKIP
>>> draw_province_borders(ax)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.image import AxesImage

from hydrointerp.errors import DataError, HydroInterpError
from hydrointerp.shared import find_shared

BORDERS = Path("data") / "province_borders" / "PROVINCE.SHP"
_UPSAMPLE = 12


def _axes_of(obj: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    for name in ("lat", "lon"):
        if name not in obj.coords:
            raise DataError("a map needs lat and lon coordinates", variable=name, found="none")
    return np.asarray(obj["lat"].values, float), np.asarray(obj["lon"].values, float)


def _step(values: np.ndarray) -> float:
    return float(abs(values[1] - values[0])) if values.size > 1 else 1.0


def map_extent(obj: xr.Dataset | xr.DataArray) -> list[float]:
    """``[west, east, south, north]`` of the pixel edges (centres +- half a step)."""
    lat, lon = _axes_of(obj)
    hy, hx = _step(lat) / 2, _step(lon) / 2
    return [lon.min() - hx, lon.max() + hx, lat.min() - hy, lat.max() + hy]


def setup_map(ax: Axes, obj: xr.Dataset | xr.DataArray) -> None:
    """Limit ``ax`` to the grid, with equal-area-looking aspect and labelled axes."""
    west, east, south, north = map_extent(obj)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / np.cos(np.deg2rad(0.5 * (south + north))))
    ax.set_xlabel("Longitude (°E)")
    ax.set_ylabel("Latitude (°N)")


def imshow_field(
    ax: Axes,
    field: xr.DataArray,
    cmap: str = "viridis",
    symmetric: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    **kwargs: object,
) -> AxesImage:
    """Draw a ``(lat, lon)`` field as pixels with their true edges.

    ``symmetric=True`` centres the colour scale on zero at +-max|field| (sensitivity maps).
    NaN cells are left transparent.
    """
    if field.dims != ("lat", "lon"):
        field = field.transpose("lat", "lon")
    values = np.asarray(field.values, dtype=float)
    lat, _ = _axes_of(field)
    if symmetric and vmin is None and vmax is None:
        top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        vmin, vmax = -top, top
    origin = "upper" if lat.size < 2 or lat[0] > lat[-1] else "lower"
    image = ax.imshow(
        values,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=map_extent(field),
        origin=origin,
        interpolation="nearest",
        **kwargs,
    )
    setup_map(ax, field)
    return image


def add_colorbar(ax: Axes, mappable: ScalarMappable, label: str, **kwargs: object) -> Colorbar:
    """A colour bar beside ``ax`` that keeps the map's height."""
    opts = {"fraction": 0.035, "pad": 0.02, **kwargs}
    bar = ax.figure.colorbar(mappable, ax=ax, **opts)
    bar.set_label(label)
    return bar


def _fine_grid(mask: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask on a finer grid so its 0.5 contour follows the cell edges."""
    lat, lon = _axes_of(mask)
    west, east, south, north = map_extent(mask)
    n_lat, n_lon = lat.size * _UPSAMPLE, lon.size * _UPSAMPLE
    fine_lon = west + (np.arange(n_lon) + 0.5) * (east - west) / n_lon
    fine_lat = north - (np.arange(n_lat) + 0.5) * (north - south) / n_lat
    values = np.kron(np.asarray(mask.values, float), np.ones((_UPSAMPLE, _UPSAMPLE)))
    if lat.size > 1 and lat[0] < lat[-1]:
        values = values[::-1]
    return fine_lon, fine_lat, values


def draw_basins(
    ax: Axes,
    basin_mask: xr.DataArray,
    color: str = "white",
    linewidth: float = 1.0,
    **kwargs: object,
) -> None:
    """Outline basins: the 0.5 contour of each ``(station, lat, lon)`` or ``(lat, lon)`` mask."""
    masks = basin_mask if "station" in basin_mask.dims else basin_mask.expand_dims("station")
    for s in range(masks.sizes["station"]):
        mask = masks.isel(station=s).transpose("lat", "lon")
        if not np.any(mask.values > 0.5):
            continue
        x, y, v = _fine_grid(mask)
        ax.contour(x, y, v, levels=[0.5], colors=[color], linewidths=linewidth, **kwargs)


def draw_gauges(
    ax: Axes,
    lon: np.ndarray | xr.DataArray,
    lat: np.ndarray | xr.DataArray,
    color: object = "white",
    size: float | np.ndarray = 18.0,
    edgecolor: str = "black",
    **kwargs: object,
) -> object:
    """Gauges as dots (``color`` may be one colour or one per gauge)."""
    opts = {"linewidths": 0.5, "zorder": 5, **kwargs}
    return ax.scatter(
        np.asarray(lon), np.asarray(lat), c=color, s=size, edgecolors=edgecolor, **opts
    )


@lru_cache(maxsize=2)
def _borders(path: str) -> object:
    import geopandas as gpd

    frame = gpd.read_file(path)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")  # the shared file is in lon/lat without a CRS tag
    return frame.to_crs("EPSG:4326").boundary


def draw_province_borders(
    ax: Axes,
    shared_dir: str | os.PathLike[str] | None = None,
    color: str = "black",
    linewidth: float = 0.6,
    *,
    shared: str | os.PathLike[str] | None = None,
    **kwargs: object,
) -> bool:
    """Draw Canadian province borders clipped to the axes' current extent.

    Reads ``shared/data/province_borders/PROVINCE.SHP`` (``shared_dir``, alias ``shared``, or
    the default shared folder); draws nothing (and returns False) only when the shared folder
    is absent.
    """
    try:
        root = find_shared(shared_dir if shared_dir is not None else shared)
    except HydroInterpError:
        return False
    path = root / BORDERS
    if not path.is_file():
        return False
    from shapely.geometry import box

    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    lines = _borders(str(path)).clip(box(x0, y0, x1, y1))
    lines = lines[~lines.is_empty]
    if len(lines):
        lines.plot(ax=ax, color=color, linewidth=linewidth, **kwargs)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return True


def province_borders_or_note(ax: Axes, shared: str | os.PathLike[str] | None = None) -> None:
    """Province borders within the axes' current limits, which are kept as they were.

    A failure to draw them becomes a small note on the axes: a missing map layer must not lose
    the figure.
    """
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    try:
        draw_province_borders(ax, shared=shared)
    except Exception as exc:  # noqa: BLE001 - a missing map layer must not lose the figure
        ax.text(0.01, 0.01, f"borders unavailable: {exc}", transform=ax.transAxes, fontsize=6)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def new_map_figure(n_panels: int = 1, width: float = 9.0) -> tuple[plt.Figure, list[Axes]]:
    """A figure with ``n_panels`` map axes stacked vertically (study grid is 12 x 32)."""
    fig, axes = plt.subplots(n_panels, 1, figsize=(width, 3.4 * n_panels), squeeze=False)
    return fig, list(axes[:, 0])
