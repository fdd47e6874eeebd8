"""The ``virtual-region`` verb and the map helpers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from hydrointerp.cli import app  # noqa: E402
from hydrointerp.data.region import load  # noqa: E402
from hydrointerp.data.virtual import VirtualRegionConfig  # noqa: E402
from hydrointerp.plots.maps import (  # noqa: E402
    draw_basins,
    draw_gauges,
    draw_province_borders,
    imshow_field,
    map_extent,
)
from hydrointerp.plots.region import plot_regime_hydrographs  # noqa: E402


def test_cli_writes_region_and_figures(tmp_path: Path) -> None:
    out = tmp_path / "region.nc"
    figs = tmp_path / "figs"
    args = ["virtual-region", "--out", str(out), "--seed", "1", "--years", "1"]
    result = CliRunner().invoke(app, [*args, "--stations", "12", "--figures", str(figs)])
    assert result.exit_code == 0, result.output
    assert "12 stations" in result.output
    region = load(out)
    assert region.sizes["station"] == 12 and region.sizes["time"] == 365 + 366
    cfg = VirtualRegionConfig.from_json(region.attrs["virtual_config"])
    assert (cfg.seed, cfg.n_years, cfg.n_stations) == (1, 1, 12)
    np.testing.assert_array_equal(region["flow"].values, region["flow_component"].sum("component"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs", "region.nc"]  # no temp files
    for name in ("region_map.png", "regime_hydrographs.png"):
        with Image.open(figs / name) as image:
            assert image.size[0] > 800 and image.size[1] > 300


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["virtual-region", "--help"])
    assert result.exit_code == 0
    assert "hydrointerp virtual-region --out region.nc --seed 1" in result.output


def test_map_extent_and_field_pixels(small_region: xr.Dataset) -> None:
    west, east, south, north = map_extent(small_region)
    lat, lon = small_region["lat"].values, small_region["lon"].values
    assert (west, east) == pytest.approx((lon[0] - 0.375, lon[-1] + 0.375))
    assert (south, north) == pytest.approx((lat[-1] - 0.375, lat[0] + 0.375))
    field = small_region["elevation"] - 500.0
    fig, ax = plt.subplots()
    image = imshow_field(ax, field, cmap="RdBu_r", symmetric=True)
    vmin, vmax = image.get_clim()
    assert vmax == pytest.approx(float(np.abs(field).max())) and vmin == -vmax
    assert list(image.get_extent()) == pytest.approx([west, east, south, north])
    # row 0 of the array is the northern row, drawn at the top
    assert image.origin == "upper"
    plt.close(fig)


def test_basin_outlines_follow_cell_edges(small_region: xr.Dataset) -> None:
    fig, ax = plt.subplots()
    mask = small_region["basin_mask"].isel(station=0)
    draw_basins(ax, mask, color="white")
    paths = [p for c in ax.collections for p in c.get_paths()]
    assert paths
    vertices = np.vstack([p.vertices for p in paths])
    lat, lon = small_region["lat"].values, small_region["lon"].values
    inside = mask.values > 0
    assert vertices[:, 0].min() >= lon[inside.any(axis=0)].min() - 0.375 - 1e-6
    assert vertices[:, 0].max() <= lon[inside.any(axis=0)].max() + 0.375 + 1e-6
    assert vertices[:, 1].min() >= lat[inside.any(axis=1)].min() - 0.375 - 1e-6
    gauges = draw_gauges(ax, small_region["station_lon"], small_region["station_lat"])
    assert gauges.get_offsets().shape == (small_region.sizes["station"], 2)
    plt.close(fig)


def test_province_borders_clip_to_the_map(shared: Path, small_region: xr.Dataset) -> None:
    fig, ax = plt.subplots()
    imshow_field(ax, small_region["elevation"])
    before = len(ax.collections)
    assert draw_province_borders(ax, shared)
    assert len(ax.collections) > before
    west, east, south, north = map_extent(small_region)
    for coll in ax.collections[before:]:
        for path in coll.get_paths():
            v = path.vertices
            assert v[:, 0].min() >= west - 1e-6 and v[:, 0].max() <= east + 1e-6
            assert v[:, 1].min() >= south - 1e-6 and v[:, 1].max() <= north + 1e-6
    assert ax.get_xlim() == pytest.approx((west, east))
    plt.close(fig)


def test_regime_hydrographs_stack_the_sources(small_region: xr.Dataset) -> None:
    fig = plot_regime_hydrographs(small_region)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == len(set(small_region["regime"].values))
    assert fig.axes[0].get_ylabel().startswith("Runoff")
    plt.close(fig)
