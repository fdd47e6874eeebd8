"""WSC daily-flow CSV files (three layouts) and station NetCDF files -> the layout of :mod:`.flow`.

CSV layouts, detected from the header:

``ID,PARAM,Date,Value,SYM``
    The Water Survey of Canada (wateroffice) export; an optional title line before the header is
    skipped. Only ``PARAM == 1`` (discharge, m3/s) is kept (``2`` is water level).
``Date,Flow``
    One station per file, the layout the published preprocessing read
    (``XXXXXXX_Daily_Flow_ts.csv``; the station id is the file name's first 7 characters). The
    trailing disclaimer rows (whose date does not parse) are dropped.
wide
    ``date`` (or ``Date``/``time``) then one column per station id (date x station).

Dates are ``YYYY/MM/DD`` or ISO. A non-numeric flow value or an unparseable date inside the
records is a :class:`~hydrointerp.errors.DataError`.

:func:`read_station_netcdf` reads a station's daily meteo+flow NetCDF (the Salmon River file of
the shared data), where ``-1.2345`` codes a missing flow.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from hydrointerp.errors import DataError
from hydrointerp.io.files import existing, expand_paths, reading
from hydrointerp.io.flow import concat_stations, flow_dataset

CsvLayout = Literal["auto", "wsc", "date_flow", "wide"]
DISCHARGE_PARAM = 1
MISSING_FLOW_CODE = -1.2345
_DATE_NAMES = ("date", "time", "day")
_ID_PATTERN = re.compile(r"^(\d{2}[A-Z]{2}\d{3})")


def _read_text(path: Path) -> str:
    existing(path, "flow CSV")
    try:
        return path.read_bytes().decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        try:
            return path.read_bytes().decode("latin-1")
        except Exception as exc:  # noqa: BLE001
            raise DataError("cannot decode text", source=str(path)) from exc


def _header_line(lines: list[str]) -> int:
    """Index of the WSC ``ID,PARAM,...`` header among the first lines, or -1."""
    for i, line in enumerate(lines[:5]):
        cells = [c.strip().strip('"').lower() for c in line.split(",")]
        if "id" in cells and "param" in cells:
            return i
    return -1


def detect_layout(path: Path, text: str) -> str:
    """``"wsc"``, ``"date_flow"`` or ``"wide"`` from the header of a CSV file."""
    lines = text.splitlines()
    if not lines:
        raise DataError("empty file", source=str(path), variable="flow CSV")
    if _header_line(lines) >= 0:
        return "wsc"
    header = [c.strip().strip('"').lower() for c in lines[0].split(",")]
    if header[:2] == ["date", "flow"]:
        return "date_flow"
    if header[0] in _DATE_NAMES and len(header) >= 2:
        return "wide"
    raise DataError(
        "unknown flow CSV layout",
        source=str(path),
        variable="header",
        expected="'ID,PARAM,Date,Value,SYM', 'Date,Flow' or 'date,<station ids>'",
        found=lines[0][:80],
    )


def _parse_dates(values: pd.Series, path: Path, trailing_ok: bool) -> pd.Series:
    """Parse dates; unparseable trailing rows are allowed (NaT) only when ``trailing_ok``."""
    dates = pd.to_datetime(values.astype(str).str.strip(), errors="coerce", format="mixed")
    bad = dates.isna().to_numpy()
    if bad.any():
        last_good = np.flatnonzero(~bad)
        inner = bad[: last_good[-1] + 1] if last_good.size else bad
        if inner.any() or not trailing_ok or not last_good.size:
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                "unparseable date",
                source=str(path),
                variable="Date",
                expected="YYYY/MM/DD or YYYY-MM-DD",
                found=f"row {row + 2}: {values.iloc[row]!r}",
            )
    return dates


def _numeric(values: pd.Series, path: Path, variable: str) -> np.ndarray:
    text = values.astype(str).str.strip().replace({"": np.nan, "nan": np.nan, "NaN": np.nan})
    numbers = pd.to_numeric(text, errors="coerce")
    for bad, problem, expected in (
        (numbers.isna() & text.notna(), "non-numeric flow value", "a number or empty"),
        (numbers < 0, "negative discharge", ">= 0 m3/s"),
    ):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                problem,
                source=str(path),
                variable=variable,
                expected=expected,
                found=f"row {row + 2}: {values.iloc[row]!r}",  # row 1 is the header
            )
    return numbers.to_numpy(dtype=np.float64)


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_table(text: str, path: Path, skipped: int = 0) -> pd.DataFrame:
    """``pandas.read_csv`` of all-text cells; a row with more cells than the header is an error.

    ``skipped`` lines (a title) came before ``text`` in the file, for the line number.
    """
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        match = _FIELDS.search(str(exc))
        if match is None:
            raise DataError(f"cannot parse CSV ({exc})", source=str(path)) from exc
        want, line, saw = (int(g) for g in match.groups())
        raise DataError(
            "a row has more cells than the header",
            source=str(path),
            variable="columns",
            expected=f"{want} cells per row (the header's)",
            found=f"line {line + skipped}: {saw} cells",
        ) from exc


def _read_wsc(path: Path, text: str) -> xr.Dataset:
    lines = text.splitlines()
    start = _header_line(lines)
    table = _read_table("\n".join(lines[start:]), path, start)
    table.columns = [str(c).strip().strip('"').upper() for c in table.columns]
    for col in ("ID", "PARAM", "DATE", "VALUE"):
        if col not in table.columns:
            raise DataError(
                "missing column", source=str(path), variable=col, found=list(table.columns)
            )
    table = table[pd.to_numeric(table["PARAM"], errors="coerce") == DISCHARGE_PARAM]
    if table.empty:
        raise DataError(
            "no discharge rows", source=str(path), variable="PARAM", expected=1, found="none"
        )
    table = table.assign(
        ID=table["ID"].str.strip(),
        DATE=_parse_dates(table["DATE"], path, trailing_ok=False).to_numpy(),
        VALUE=_numeric(table["VALUE"], path, "Value"),
        SYM=table["SYM"].fillna("").str.strip() if "SYM" in table else "",
    )
    if table.duplicated(["DATE", "ID"]).any():
        raise DataError("duplicate dates in flow", source=str(path), variable="Date")
    flow = table.pivot(index="DATE", columns="ID", values="VALUE")
    sym = table.pivot(index="DATE", columns="ID", values="SYM")
    return flow_dataset(flow, sym, source=str(path))


def _station_from_name(path: Path) -> str:
    match = _ID_PATTERN.match(path.name.upper())
    if match is None:
        raise DataError(
            "cannot tell the station id from the file name",
            source=str(path),
            variable="file name",
            expected="XXXXXXX_Daily_Flow_ts.csv (a WSC id such as 08KC001)",
            found=path.name,
        )
    return match.group(1)


def _read_date_flow(path: Path, text: str) -> xr.Dataset:
    table = _read_table(text, path)
    table.columns = [str(c).strip() for c in table.columns]
    dates = _parse_dates(table.iloc[:, 0], path, trailing_ok=True)
    keep = dates.notna().to_numpy()
    flow = _numeric(table.iloc[:, 1][keep], path, table.columns[1])
    sid = _station_from_name(path)
    frame = pd.DataFrame({sid: flow}, index=pd.DatetimeIndex(dates[keep]))
    return flow_dataset(frame, source=str(path))


def _read_wide(path: Path, text: str) -> xr.Dataset:
    table = _read_table(text, path)
    dates = _parse_dates(table.iloc[:, 0], path, trailing_ok=False)
    columns = {str(c).strip(): _numeric(table[c], path, str(c).strip()) for c in table.columns[1:]}
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(dates))
    return flow_dataset(frame, source=str(path))


_READERS = {"wsc": _read_wsc, "date_flow": _read_date_flow, "wide": _read_wide}


def read_wsc_csv(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    layout: CsvLayout = "auto",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Read daily flow from WSC CSV files.

    Parameters
    ----------
    paths
        One file, a glob pattern or a list; each file may use any of the three layouts.
    layout
        ``"auto"`` (from the header), ``"wsc"``, ``"date_flow"`` or ``"wide"``.
    start, end
        Period (inclusive); default: the span of the data.

    Returns
    -------
    xarray.Dataset
        ``flow(time, station)`` m3/s (and ``flow_symbol`` from the ``SYM`` column), stations in
        file order. Metadata coordinates are NaN/empty (CSV files carry none).

    Raises
    ------
    DataError
        Unknown layout, unparseable dates or values, a station in two files.

    Examples
    --------
    >>> ds = read_wsc_csv("flows/*_Daily_Flow_ts.csv", start="1979-01-01")  # doctest: +SKIP
    """
    files = expand_paths(paths, "flow CSV")
    if not files:
        raise DataError("no flow files given", variable="paths", expected=">= 1", found=0)
    parts = []
    for path in tqdm(files, desc="flow CSV", disable=not progress or len(files) < 5):
        text = _read_text(path)
        kind = detect_layout(path, text) if layout == "auto" else layout
        if kind not in _READERS:
            raise DataError(
                "unknown layout", variable="layout", expected=list(_READERS), found=kind
            )
        parts.append(_READERS[kind](path, text))
    source = ", ".join(str(p) for p in files[:5]) + (" ..." if len(files) > 5 else "")
    ds = parts[0] if len(parts) == 1 else concat_stations(parts, source)
    if start is not None or end is not None:
        days = pd.date_range(
            start or ds["time"].values[0], end or ds["time"].values[-1], freq="D", name="time"
        )
        ds = ds.reindex(time=days)
        if "flow_symbol" in ds:
            ds["flow_symbol"] = ds["flow_symbol"].fillna("")
    return ds


def read_station_netcdf(
    path: str | os.PathLike[str],
    flow_variable: str = "qobs",
    missing_code: float = MISSING_FLOW_CODE,
) -> xr.Dataset:
    """A station's daily meteo + observed-flow NetCDF (e.g. the shared Salmon River file).

    Values equal to ``missing_code`` (default -1.2345) in ``flow_variable`` become NaN.

    Returns
    -------
    xarray.Dataset
        The flow layout of :mod:`.flow` (one station, id from ``station_name``) plus every other
        time series of the file as ``<name>(time, station)`` with its units.
    """
    path = existing(path, "station NetCDF")
    with reading(path, "NetCDF", expected="a NetCDF file"):
        raw = xr.load_dataset(path)
    if flow_variable not in raw:
        raise DataError(
            "missing variable",
            source=str(path),
            variable=flow_variable,
            expected="observed discharge",
            found=sorted(map(str, raw.data_vars)),
        )
    sid = _station_name(raw)
    values = raw[flow_variable].values.astype(np.float64).ravel()
    values[np.isclose(values, missing_code, rtol=0, atol=1e-6)] = np.nan
    frame = pd.DataFrame({sid: values}, index=pd.DatetimeIndex(raw["time"].values))
    meta = pd.DataFrame(
        {
            "station_lat": [_scalar(raw, "lat")],
            "station_lon": [_scalar(raw, "lon")],
        },
        index=[sid],
    )
    ds = flow_dataset(frame, meta=meta, source=str(path), start=frame.index[0], end=frame.index[-1])
    for name, da in raw.data_vars.items():
        if name != flow_variable and da.dims == ("time",):
            ds[str(name)] = (("time", "station"), da.values[:, None].astype(np.float32), da.attrs)
    return ds


def _station_name(raw: xr.Dataset) -> str:
    if "station_name" in raw.variables:
        return str(np.asarray(raw["station_name"].values).ravel()[0]).strip()
    return "station"


def _scalar(raw: xr.Dataset, name: str) -> float:
    if name in raw.variables and raw[name].size == 1:
        return float(raw[name].values.ravel()[0])
    return float("nan")
