"""Writers of small files in the real raw formats (ERA5 NetCDF, HYDAT SQLite, WSC CSV, vectors).

Imported by the io tests (``tests/io/conftest.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
import yaml


def era5_dataset(
    times: pd.DatetimeIndex,
    lat: np.ndarray,
    lon: np.ndarray,
    t2m: np.ndarray,
    tp: np.ndarray,
    *,
    time_name: str = "valid_time",
    names: tuple[str, str] = ("t2m", "tp"),
    units: tuple[str, str] = ("K", "m"),
    expver: str | None = "coord",
) -> xr.Dataset:
    """An ERA5-like single-level Dataset (CDS layout: latitude/longitude, number, expver)."""
    dims = (time_name, "latitude", "longitude")
    ds = xr.Dataset(
        {
            names[0]: (dims, t2m, {"units": units[0], "long_name": "2 metre temperature"}),
            names[1]: (dims, tp, {"units": units[1], "long_name": "Total precipitation"}),
        },
        coords={
            time_name: times,
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
            "number": 0,
        },
    )
    if expver == "coord":
        ds = ds.assign_coords(expver=(time_name, np.full(len(times), "0001")))
    elif expver == "dim":
        # old CDS layout: expver dimension, ERA5 (1) then ERA5T (5), NaN where the other holds data
        half = len(times) // 2
        first = ds.copy(deep=True)
        second = ds.copy(deep=True)
        for name in names:
            first[name][half:] = np.nan
            second[name][:half] = np.nan
        ds = xr.concat([first, second], dim=pd.Index([1, 5], name="expver"))
        ds = ds.transpose(time_name, "expver", "latitude", "longitude")
    return ds


def write_era5(path: Path, ds: xr.Dataset) -> Path:
    ds.to_netcdf(path, engine="netcdf4")
    return path


def smooth_weather(
    times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Hourly t2m (K) and tp (m) fields with a daily cycle, a season and random rain."""
    rng = np.random.default_rng(seed)
    hours = (times - pd.Timestamp("2000-01-01")) / pd.Timedelta(hours=1)
    hours = np.asarray(hours, dtype=float)
    season = -12 * np.cos(2 * np.pi * hours / (24 * 365.25))
    daily = 4 * np.sin(2 * np.pi * (hours % 24) / 24)
    t2m = 275 + season[:, None, None] + daily[:, None, None] - 0.3 * (lat[None, :, None] - 50)
    t2m = t2m + 0.05 * lon[None, None, :] + rng.normal(0, 0.5, (len(times), len(lat), len(lon)))
    tp = rng.gamma(0.3, 4e-4, (len(times), len(lat), len(lon)))
    return t2m.astype(np.float32), tp.astype(np.float32)


HYDAT_SCHEMA = {
    "STATIONS": (
        "STATION_NUMBER TEXT, STATION_NAME TEXT, PROV_TERR_STATE_LOC TEXT, REGIONAL_OFFICE_ID"
        " TEXT, HYD_STATUS TEXT, SED_STATUS TEXT, LATITUDE REAL, LONGITUDE REAL,"
        " DRAINAGE_AREA_GROSS REAL, DRAINAGE_AREA_EFFECT REAL, RHBN INTEGER, REAL_TIME INTEGER,"
        " CONTRIBUTOR_ID INTEGER, OPERATOR_ID INTEGER, DATUM_ID INTEGER"
    ),
    "DLY_FLOWS": (
        "STATION_NUMBER TEXT, YEAR INTEGER, MONTH INTEGER, FULL_MONTH INTEGER, NO_DAYS INTEGER,"
        " MONTHLY_MEAN REAL, MONTHLY_TOTAL REAL, FIRST_DAY_MIN INTEGER, MIN REAL,"
        " FIRST_DAY_MAX INTEGER, MAX REAL, "
        + ", ".join(f"FLOW{d} REAL, FLOW_SYMBOL{d} TEXT" for d in range(1, 32))
    ),
    "STN_REGULATION": "STATION_NUMBER TEXT, YEAR_FROM INTEGER, YEAR_TO INTEGER, REGULATED INTEGER",
}


def write_hydat(
    path: Path, stations: list[dict], flows: dict[str, pd.Series], symbols: dict | None = None
) -> Path:
    """A HYDAT-schema SQLite: one DLY_FLOWS row per station-month, FLOW1..31 wide.

    Days past the month's end (e.g. FLOW30 of February) get a junk value 999, which a correct
    reader must drop.
    """
    con = sqlite3.connect(path)
    for table, cols in HYDAT_SCHEMA.items():
        con.execute(f"CREATE TABLE {table} ({cols})")
    for st in stations:
        con.execute(
            "INSERT INTO STATIONS (STATION_NUMBER, STATION_NAME, PROV_TERR_STATE_LOC, LATITUDE,"
            " LONGITUDE, DRAINAGE_AREA_GROSS) VALUES (?, ?, ?, ?, ?, ?)",
            (st["id"], st["name"], st["prov"], st["lat"], st["lon"], st["area"]),
        )
        con.execute(
            "INSERT INTO STN_REGULATION VALUES (?, ?, ?, ?)", (st["id"], None, None, st["reg"])
        )
    symbols = symbols or {}
    for sid, series in flows.items():
        for (year, month), chunk in series.groupby([series.index.year, series.index.month]):
            values = [999.0] * 31
            syms: list[str | None] = [None] * 31
            for day, value in zip(chunk.index.day, chunk.values, strict=True):
                values[day - 1] = None if np.isnan(value) else float(value)
                syms[day - 1] = symbols.get((sid, pd.Timestamp(year, month, day)))
            cells = [v for pair in zip(values, syms, strict=True) for v in pair]
            con.execute(
                f"INSERT INTO DLY_FLOWS VALUES ({','.join('?' * (11 + 62))})",
                [sid, year, month, 1, len(chunk), None, None, None, None, None, None, *cells],
            )
    con.commit()
    con.close()
    return path


def write_wsc_export(path: Path, flows: dict[str, pd.Series], title: bool = True) -> Path:
    """The wateroffice ``ID,PARAM,Date,Value,SYM`` export (with water-level rows to skip)."""
    lines = [" Daily Data Report/Rapport de données quotidiennes,,,,"] if title else []
    lines.append(" ID,PARAM,Date,Value,SYM")
    for sid, series in flows.items():
        for day, value in series.items():
            text = "" if np.isnan(value) else f"{value:.3f}"
            sym = "B" if day.month == 1 else ""
            lines.append(f"{sid},1,{day:%Y/%m/%d},{text},{sym}")
            lines.append(f"{sid},2,{day:%Y/%m/%d},1.234,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_date_flow(path: Path, series: pd.Series) -> Path:
    """The published per-station ``Date,Flow`` file with its two trailing disclaimer rows."""
    lines = ["Date,Flow"]
    lines += [f"{d:%Y/%m/%d},{'' if np.isnan(v) else f'{v:.3f}'}" for d, v in series.items()]
    lines += [
        "Water Survey of Canada provisional data disclaimer,",
        "Les données provisoires ...,",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def basins_frame(
    ids: list[str], boxes: list[tuple[float, float, float, float]]
) -> gpd.GeoDataFrame:
    """Rectangular basins ``(west, south, east, north)`` in lon/lat."""
    geoms = [shapely.box(*b) for b in boxes]
    return gpd.GeoDataFrame({"StationNum": ids}, geometry=geoms, crs="EPSG:4326")


def write_build_inputs(
    folder: Path,
    era5: xr.Dataset,
    flow: pd.Series,
    *,
    basins: gpd.GeoDataFrame | None = None,
    wsc_csv: str | None = None,
) -> Path:
    """A ``build-region`` config for one station 08AA001 at (50.3 N, 120.0 W) and its files.

    ERA5 ``era5`` (written as ``era5.nc``) must cover 49.5-51 N, 121.5-119.25 W and 2001-01-01 ..
    2001-04-09; flow is a HYDAT file of ``flow``, or the WSC CSV text ``wsc_csv`` when given.
    """
    write_era5(folder / "era5.nc", era5)
    station = {"id": "08AA001", "name": "A", "prov": "BC", "lat": 50.3, "lon": -120.0}
    if wsc_csv is None:
        write_hydat(
            folder / "Hydat.sqlite3", [{**station, "area": 100.0, "reg": 0}], {"08AA001": flow}
        )
        source = {"source": "hydat", "paths": "Hydat.sqlite3"}
    else:
        (folder / "flow.csv").write_text(wsc_csv)
        source = {"source": "wsc_csv", "paths": "flow.csv"}
    config: dict = {
        "era5": {"paths": "era5.nc"},
        "flow": source,
        "stations": {"ids": ["08AA001"]},
        "period": {"start": "2001-01-01", "end": "2001-04-09"},
        "selection": {"max_missing": 1.0, "max_missing_year": 1.0},
        "grid": {"north": 51.0, "south": 49.5, "west": -121.5, "east": -119.25, "resolution": 0.75},
        "output": "out/region.nc",
    }
    if basins is not None:
        basins.to_file(folder / "basins.gpkg", driver="GPKG")
        config["basins"] = {"path": "basins.gpkg", "id_column": "StationNum"}
    path = folder / "build.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
