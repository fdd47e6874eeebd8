"""The published mini year (``cnn_lstm_era/Data/Mini``) as a RegionData (METHODS.md section 8).

Calendar (verified against raw HYDAT flows and ``x_test``):

* ``x_intermediate_mini`` holds normalised [Tmax, Tmin, P] for 2010-01-01 ... 2011-12-30 (729 days);
* ``y_mini`` holds normalised flow for 2011-01-01 ... 2011-12-31 (365 days, 226 stations);
* the window of target day 2011-01-01 + i is weather days i ... i + 364 (``xi[i : i + 365]``).

The RegionData therefore spans 2010-01-01 ... 2011-12-31 with ``attrs["weather_end"] =
"2011-12-30"`` (weather on 2011-12-31 is NaN) and flow NaN throughout 2010. Values are already
normalised (``attrs["normalised"] = "true"``); the normalisation constants of METHODS.md section
1.3 are recorded as attributes, never applied again.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.data.region import make_region
from hydrointerp.errors import DataError
from hydrointerp.io.geo import basin_masks, read_outlines
from hydrointerp.io.grid import Grid
from hydrointerp.published import (
    CHANNEL_MEAN,
    CHANNEL_STD,
    GRID_LAT,
    GRID_LON,
    PRECIP_MEAN_OVER_STD,
)
from hydrointerp.shared import find_shared

N_STATIONS = 226
N_WEATHER_DAYS = 729
WEATHER_START = "2010-01-01"
WEATHER_END = "2011-12-30"
FLOW_START = "2011-01-01"
FLOW_END = "2011-12-31"
LAT = GRID_LAT
LON = GRID_LON

#: The published normalisation (METHODS.md section 1.3) as the mini year's attributes name it.
NORMALISATION = {
    "tmax_mean_K": CHANNEL_MEAN["tmax"],
    "tmax_std_K": CHANNEL_STD["tmax"],
    "tmin_mean_K": CHANNEL_MEAN["tmin"],
    "tmin_std_K": CHANNEL_STD["tmin"],
    "precip_mean_over_std": PRECIP_MEAN_OVER_STD,
}


def mini_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The mini folder: ``path`` itself, ``path/data/cnn_lstm_era/mini`` or the shared one."""
    if path is None:
        return find_shared() / "data" / "cnn_lstm_era" / "mini"
    p = Path(path)
    for cand in (p, p / "mini", p / "cnn_lstm_era" / "mini", p / "data" / "cnn_lstm_era" / "mini"):
        if (cand / "x_intermediate_mini.pickle").is_file():
            return cand
    raise DataError(
        "mini folder not found", source=str(p), expected="a folder with x_intermediate_mini.pickle"
    )


def _era_dir(mini: Path) -> Path:
    """``cnn_lstm_era`` (parent of ``mini``), where ``stations/`` lives."""
    return mini.parent


def _load_pickle(path: Path) -> object:
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    try:
        return pd.read_pickle(path)
    except (pickle.UnpicklingError, EOFError, ValueError, ModuleNotFoundError) as exc:
        raise DataError(f"cannot unpickle ({exc})", source=str(path)) from exc


def _array(path: Path, shape: tuple[int, ...], dtypes: tuple[str, ...]) -> np.ndarray:
    obj = _load_pickle(path)
    arr = np.asarray(obj)
    if arr.shape != shape or arr.dtype.name not in dtypes:
        raise DataError(
            "unexpected array",
            source=str(path),
            variable=path.stem,
            expected=f"shape {shape}, dtype {'/'.join(dtypes)}",
            found=f"shape {arr.shape}, dtype {arr.dtype}",
        )
    return arr


def _station_table(era: Path) -> pd.DataFrame:
    path = era / "stations" / "station_table.csv"
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    table = pd.read_csv(path, dtype={"Station Number": str})
    needed = {"Station Number", "Station Name", "Latitude", "Longitude"}
    if not needed <= set(table.columns) or len(table) != N_STATIONS:
        raise DataError(
            "unexpected station table",
            source=str(path),
            expected=f"{N_STATIONS} rows with columns {sorted(needed)}",
            found=f"{len(table)} rows, columns {list(table.columns)}",
        )
    return table


def _station_info(mini: Path) -> pd.DataFrame:
    path = mini / "station_info.pickle"
    info = _load_pickle(path)
    if not isinstance(info, pd.DataFrame) or info.shape != (N_STATIONS, 2):
        raise DataError(
            "unexpected station_info",
            source=str(path),
            expected=f"DataFrame ({N_STATIONS}, 2) [Longitude, Latitude]",
            found=f"{type(info).__name__} {getattr(info, 'shape', None)}",
        )
    return info


def _glacier(shared_data: Path, ids: list[str]) -> np.ndarray:
    path = shared_data / "station_attributes" / "station_glacier_226.csv"
    if not path.is_file():
        raise DataError("file not found", source=str(path), variable="glacier_fraction")
    table = pd.read_csv(path, dtype={"id": str})
    if table["id"].tolist() != ids:
        raise DataError(
            "glacier table stations differ from station_table.csv order",
            source=str(path),
            variable="id",
            expected=ids[:3],
            found=table["id"].tolist()[:3],
        )
    return table["glacier_fraction"].to_numpy(np.float64)


def _area(shared_data: Path, ids: list[str]) -> np.ndarray | None:
    path = shared_data / "station_attributes" / "station_attributes_226.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype={"id": str})
    if table["id"].tolist() != ids or "hysets_area_km2" not in table:
        return None
    return table["hysets_area_km2"].to_numpy(np.float64)


def _basin_mask(shared_data: Path, ids: list[str]) -> tuple[np.ndarray | None, str]:
    """Cell fractions inside each outlined basin (``io.geo.basin_masks``); 0 without an outline."""
    path = shared_data / "basins" / "stationBasins_partial_226.geojson"
    if not path.is_file():
        return None, "none (basin file missing)"

    outlines = read_outlines(path)
    outlined = [s for s in ids if s in outlines.index and outlines.geometry.loc[s] is not None]
    mask = np.zeros((len(ids), len(LAT), len(LON)), dtype=np.float32)
    if outlined:
        grid = Grid(lat=tuple(LAT), lon=tuple(LON))
        fractions = basin_masks(outlines, grid, station_ids=outlined)
        rows = [ids.index(s) for s in outlined]
        mask[rows] = fractions.sel(lat=LAT, lon=LON).values
    return mask, f"{path} ({len(outlined)} outlines; zeros elsewhere)"


def read_mini(path: str | os.PathLike[str] | None = None, basin_masks: bool = True) -> xr.Dataset:
    """Read the published mini year into a normalised RegionData.

    Parameters
    ----------
    path
        The mini folder (or the shared folder, or ``cnn_lstm_era``); default: the shared one.
    basin_masks
        Compute ``basin_mask`` (fraction of each cell inside the basin) from
        ``basins/stationBasins_partial_226.geojson``; stations without an outline stay 0.

    Returns
    -------
    xarray.Dataset
        RegionData over 2010-01-01 ... 2011-12-31 with normalised ``weather`` (NaN on the last day,
        ``attrs["weather_end"] = "2011-12-30"``) and normalised ``flow`` (NaN in 2010).

    Raises
    ------
    DataError
        When a file is missing or an array has the wrong shape or dtype.
    """
    mini = mini_dir(path)
    era = _era_dir(mini)
    shared_data = era.parent
    x = _array(mini / "x_intermediate_mini.pickle", (N_WEATHER_DAYS, 12, 32, 3), ("float32",))
    y = _array(mini / "y_mini.pickle", (365, N_STATIONS), ("float16", "float32", "float64"))
    table = _station_table(era)
    info = _station_info(mini)
    ids = table["Station Number"].str.strip().tolist()
    time = pd.date_range(WEATHER_START, FLOW_END, freq="D")
    weather = np.concatenate([x, np.full((1, *x.shape[1:]), np.nan, np.float32)])
    flow = np.full((len(time), N_STATIONS), np.nan, np.float32)
    flow[-365:] = y.astype(np.float32)
    mask, mask_source = _basin_mask(shared_data, ids) if basin_masks else (None, "not computed")
    ds = make_region(
        weather,
        time,
        LAT,
        LON,
        flow,
        ids,
        names=table["Station Name"].str.strip().tolist(),
        station_lat=info["Latitude"].to_numpy(np.float64),
        station_lon=info["Longitude"].to_numpy(np.float64),
        glacier_fraction=_glacier(shared_data, ids),
        area_km2=_area(shared_data, ids),
        basin_mask=mask,
        attrs={
            "source": str(mini),
            "title": "published mini year (Anderson & Radic 2022), normalised",
            "normalised": "true",
            "weather_end": WEATHER_END,
            "flow_start": FLOW_START,
            "basin_mask_source": mask_source,
            "rhbn_reference_stations": int(table["RHBN"].sum()) if "RHBN" in table else -1,
            **{f"normalisation_{k}": v for k, v in NORMALISATION.items()},
        },
    )
    ds["weather"].attrs.update(units="1", note="normalised: (x - mean_1979_2000) / std_1979_2000")
    ds["flow"].attrs.update(units="1", note="normalised per station over 1979-2000")
    return ds


def read_flowseason(path: str | os.PathLike[str] | None = None) -> xr.DataArray:
    """The z-scored seasonal flow climatology ``(dayofyear, station)``, the clustering input.

    Day of year 1 ... 365 are within-year indices from 1 January (METHODS.md section 1.4).
    """
    mini = mini_dir(path)
    arr = _array(mini / "flowseason_norm.pickle", (365, N_STATIONS), ("float64", "float32"))
    table = _station_table(_era_dir(mini))
    ids = table["Station Number"].str.strip().tolist()
    return xr.DataArray(
        arr.astype(np.float64),
        dims=("dayofyear", "station"),
        coords={"dayofyear": np.arange(1, 366), "station": np.asarray(ids, dtype=object)},
        name="flowseason_norm",
        attrs={"units": "1", "long_name": "z-scored seasonal flow climatology 1979-2015"},
    )
