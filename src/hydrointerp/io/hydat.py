"""HYDAT SQLite (``Hydat.sqlite3``) -> daily flow in the common layout of :mod:`.flow`.

``DLY_FLOWS`` holds one row per station and month with wide ``FLOW1 ... FLOW31`` and
``FLOW_SYMBOL1 ... FLOW_SYMBOL31`` columns; they are melted to a daily series, and the invalid
days of short months (e.g. Feb 30) are dropped. Metadata comes from ``STATIONS`` (name,
latitude, longitude, gross drainage area, province) and ``STN_REGULATION`` (regulated flag).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.io.files import existing, reading
from hydrointerp.io.flow import flow_dataset

_DAY_COLS = [f"FLOW{d}" for d in range(1, 32)]
_SYM_COLS = [f"FLOW_SYMBOL{d}" for d in range(1, 32)]
_TABLES = ("STATIONS", "DLY_FLOWS")


def _connect(path: Path) -> sqlite3.Connection:
    existing(path, "HYDAT")
    with reading(
        path,
        "SQLite",
        what="HYDAT",
        expected="a HYDAT SQLite database",
        found="not a database",
        catch=(sqlite3.DatabaseError,),
    ):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [t for t in _TABLES if t not in tables]
    if missing:
        con.close()
        raise DataError(
            "not a HYDAT database: missing tables",
            source=str(path),
            variable=",".join(missing),
            expected=list(_TABLES),
            found=sorted(tables)[:20],
        )
    return con


def _query(con: sqlite3.Connection, sql: str, ids: Sequence[str]) -> pd.DataFrame:
    marks = ",".join("?" * len(ids))
    return pd.read_sql_query(sql.format(marks=marks), con, params=list(ids))


def read_stations(path: str | os.PathLike[str], station_ids: Sequence[str]) -> pd.DataFrame:
    """Station metadata from ``STATIONS`` and ``STN_REGULATION``, indexed by station id.

    Raises
    ------
    DataError
        An id not in ``STATIONS``.
    """
    path = Path(path)
    ids = [str(s).strip() for s in station_ids]
    con = _connect(path)
    try:
        return _stations(con, ids, str(path))
    finally:
        con.close()


def _stations(con: sqlite3.Connection, ids: list[str], source: str) -> pd.DataFrame:
    stations = _query(
        con,
        "SELECT STATION_NUMBER, STATION_NAME, LATITUDE, LONGITUDE, DRAINAGE_AREA_GROSS,"
        " PROV_TERR_STATE_LOC FROM STATIONS WHERE STATION_NUMBER IN ({marks})",
        ids,
    ).set_index("STATION_NUMBER")
    unknown = [s for s in ids if s not in stations.index]
    if unknown:
        raise DataError(
            "unknown station id",
            source=source,
            variable="STATIONS.STATION_NUMBER",
            expected="ids present in HYDAT",
            found=unknown[:10],
        )
    meta = pd.DataFrame(
        {
            "name": stations["STATION_NAME"].astype(str).str.strip(),
            "station_lat": stations["LATITUDE"].astype(float),
            "station_lon": stations["LONGITUDE"].astype(float),
            "area_km2": pd.to_numeric(stations["DRAINAGE_AREA_GROSS"], errors="coerce"),
            "province": stations["PROV_TERR_STATE_LOC"].astype(str),
        }
    ).reindex(ids)
    meta["regulated"] = _regulation(con, ids)
    return meta


def _regulation(con: sqlite3.Connection, ids: list[str]) -> pd.Series:
    """1.0 regulated, 0.0 natural, NaN unknown (the most recent record per station)."""
    try:
        reg = _query(
            con,
            "SELECT STATION_NUMBER, YEAR_FROM, REGULATED FROM STN_REGULATION"
            " WHERE STATION_NUMBER IN ({marks})",
            ids,
        )
    except (sqlite3.DatabaseError, pd.errors.DatabaseError):
        return pd.Series(np.nan, index=ids)
    reg = reg.sort_values("YEAR_FROM", na_position="first").groupby("STATION_NUMBER").last()
    return reg["REGULATED"].astype(float).reindex(ids)


def _melt(monthly: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide monthly rows -> (flow, symbol) tables of date x station; invalid days dropped."""
    if monthly.empty:
        empty = pd.DataFrame(dtype=float)
        return empty, empty
    long = monthly.melt(
        id_vars=["STATION_NUMBER", "YEAR", "MONTH"], value_vars=_DAY_COLS, var_name="day"
    )
    symbols = monthly.melt(id_vars=["STATION_NUMBER", "YEAR", "MONTH"], value_vars=_SYM_COLS)
    long["symbol"] = symbols["value"].to_numpy()
    long["day"] = long["day"].str.slice(4).astype(int)
    month_len = pd.to_datetime(
        dict(year=long["YEAR"], month=long["MONTH"], day=1), errors="coerce"
    ).dt.days_in_month
    long = long[long["day"] <= month_len]
    long["time"] = pd.to_datetime(dict(year=long["YEAR"], month=long["MONTH"], day=long["day"]))
    if long.duplicated(["time", "STATION_NUMBER"]).any():
        raise DataError("duplicate month rows in DLY_FLOWS", source=source, variable="DLY_FLOWS")
    values = pd.to_numeric(long["value"], errors="coerce")
    flow = long.assign(value=values).pivot(index="time", columns="STATION_NUMBER", values="value")
    sym = long.pivot(index="time", columns="STATION_NUMBER", values="symbol")
    return flow, sym


def read_hydat(
    path: str | os.PathLike[str],
    station_ids: Sequence[str],
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> xr.Dataset:
    """Daily flow of some stations from a HYDAT SQLite database.

    Parameters
    ----------
    path
        ``Hydat.sqlite3`` (or a subset with the same schema).
    station_ids
        WSC station numbers, e.g. ``["05AA008"]``; the output keeps this order.
    start, end
        Period (inclusive); default: the span of the stations' data. Days without a value are NaN.

    Returns
    -------
    xarray.Dataset
        ``flow(time, station)`` m3/s, ``flow_symbol(time, station)``, station metadata coords.

    Raises
    ------
    DataError
        Unreadable or non-HYDAT file; unknown station id.

    Examples
    --------
    >>> ds = read_hydat("Hydat.sqlite3", ["05AA008"], "1979-01-01", "2015-12-31")  # doctest: +SKIP
    """
    path = Path(path)
    ids = [str(s).strip() for s in station_ids]
    if not ids:
        raise DataError("no station ids given", source=str(path), variable="station_ids")
    con = _connect(path)
    try:
        meta = _stations(con, ids, str(path))
        cols = ", ".join(c for pair in zip(_DAY_COLS, _SYM_COLS, strict=True) for c in pair)
        monthly = _query(
            con,
            f"SELECT STATION_NUMBER, YEAR, MONTH, {cols} FROM DLY_FLOWS"
            " WHERE STATION_NUMBER IN ({marks})",
            ids,
        )
    finally:
        con.close()
    if start is not None or end is not None:
        first = pd.Timestamp(start) if start is not None else pd.Timestamp.min
        last = pd.Timestamp(end) if end is not None else pd.Timestamp.max
        ym = monthly["YEAR"] * 12 + monthly["MONTH"]
        inside = (ym >= first.year * 12 + first.month) & (ym <= last.year * 12 + last.month)
        monthly = monthly[inside]
    flow, sym = _melt(monthly, str(path))
    flow = flow.reindex(columns=ids)
    sym = sym.reindex(columns=ids) if not sym.empty else None
    if start is not None or end is not None:
        flow = flow.loc[start:end]
    return flow_dataset(flow, sym, meta, source=str(path), start=start, end=end)
