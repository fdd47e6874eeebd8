"""The common layout of daily flow read from HYDAT or WSC files, and station selection.

Every flow reader returns an ``xarray.Dataset`` with

* ``flow(time, station)`` float32, m3/s, NaN where missing, ``time`` daily and gap-free;
* ``flow_symbol(time, station)`` str, the WSC data symbol (``""`` when none; ``B`` ice, ``E``
  estimated, ``A`` partial day, ``D`` dry, ``R`` revised);
* station coordinates ``station_id``, ``name``, ``station_lat``, ``station_lon``, ``area_km2``,
  ``province``, ``regulated`` (NaN where unknown).

Station selection follows METHODS.md section 1.4, each rule a setting of :class:`SelectionRules`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from hydrointerp.errors import DataError

META_COLUMNS: tuple[str, ...] = (
    "name",
    "station_lat",
    "station_lon",
    "area_km2",
    "province",
    "regulated",
)
_META_FILL: dict[str, object] = {
    "name": "",
    "station_lat": np.nan,
    "station_lon": np.nan,
    "area_km2": np.nan,
    "province": "",
    "regulated": np.nan,
}


def flow_dataset(
    flow: pd.DataFrame,
    symbols: pd.DataFrame | None = None,
    meta: pd.DataFrame | None = None,
    *,
    source: str = "<memory>",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> xr.Dataset:
    """Build the common flow Dataset from a wide (date x station) table.

    Parameters
    ----------
    flow
        Daily discharge in m3/s, index dates, one column per station id.
    symbols
        Data symbols with the same index and columns (optional).
    meta
        Station metadata indexed by station id, columns among :data:`META_COLUMNS`.
    source
        The file(s) read, stored as the ``source`` attribute.
    start, end
        The period (inclusive); default: the span of the data. Missing days become NaN.
    """
    if flow.index.has_duplicates:
        dup = flow.index[flow.index.duplicated()][:3]
        raise DataError(
            "duplicate dates in flow", source=source, variable="time", found=list(map(str, dup))
        )
    valid = flow.dropna(how="all")
    if valid.empty and (start is None or end is None):
        raise DataError("no flow values", source=source, variable="flow", found="all missing")
    first = pd.Timestamp(start) if start is not None else valid.index.min()
    last = pd.Timestamp(end) if end is not None else valid.index.max()
    days = pd.date_range(first, last, freq="D", name="time")
    values = flow.reindex(days).to_numpy(dtype=np.float32)
    ids = np.asarray([str(c) for c in flow.columns], dtype=object)
    data = {"flow": (("time", "station"), values)}
    if symbols is not None:
        sym = symbols.reindex(index=days, columns=flow.columns).fillna("").astype(str)
        data["flow_symbol"] = (("time", "station"), sym.to_numpy(dtype=object))
    meta = pd.DataFrame(index=pd.Index(ids)) if meta is None else meta.reindex(ids)
    coords = {"time": days, "station": ids, "station_id": ("station", ids)}
    for col in META_COLUMNS:
        column = meta[col] if col in meta else pd.Series(_META_FILL[col], index=meta.index)
        filled = column.fillna(_META_FILL[col]) if col in ("name", "province") else column
        dtype = object if col in ("name", "province") else np.float64
        coords[col] = ("station", filled.to_numpy(dtype=dtype))
    ds = xr.Dataset(data, coords=coords, attrs={"source": source})
    ds["flow"].attrs.update(long_name="daily mean discharge", units="m3 s-1")
    if "flow_symbol" in ds:
        ds["flow_symbol"].attrs.update(
            long_name="WSC data symbol", flag_meanings="B ice, E estimated, A partial, D dry"
        )
    return ds


class SelectionRules(BaseModel):
    """Station selection (METHODS.md section 1.4); defaults are the published rules.

    A "year" is ``year_days`` days from Jan 1 (the published code used 365, so Dec 31 of leap
    years is not counted). A station is kept when its missing fraction over the period is at most
    ``max_missing``, at most ``n_worse_years`` years exceed ``max_missing_year``, and its latitude
    is below ``max_lat`` (NaN latitude: kept with the latitude rule skipped).
    """

    model_config = ConfigDict(extra="forbid")

    max_missing: float = Field(0.40, ge=0, le=1)
    max_missing_year: float = Field(0.40, ge=0, le=1)
    n_worse_years: int = Field(1, ge=0)
    max_lat: float | None = 56.0
    year_days: int = Field(365, ge=1, le=366)


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_stations`: kept ids (input order), reasons for the others."""

    kept: list[str]
    dropped: dict[str, str]
    missing: dict[str, float]


def yearly_missing(flow: xr.DataArray, year_days: int = 365) -> pd.DataFrame:
    """Missing fraction per (year, station), a year being ``year_days`` days from Jan 1."""
    time = pd.DatetimeIndex(flow["time"].values)
    missing = pd.DataFrame(
        np.isnan(flow.values), index=time, columns=[str(s) for s in flow["station"].values]
    )
    rows = {}
    for year in sorted(set(time.year)):
        jan1 = pd.Timestamp(year=year, month=1, day=1)
        window = pd.date_range(jan1, periods=year_days, freq="D")
        rows[year] = missing.reindex(window, fill_value=True).mean(axis=0)
    return pd.DataFrame(rows).T


def select_stations(flows: xr.Dataset, rules: SelectionRules | None = None) -> Selection:
    """Apply the selection rules to a flow Dataset (already cut to the selection period).

    Returns
    -------
    Selection
        ``kept`` ids, ``dropped`` id -> reason, and ``missing`` id -> total missing fraction.
    """
    rules = rules or SelectionRules()
    flow = flows["flow"].transpose("time", "station")
    ids = [str(s) for s in flow["station"].values]
    total = dict(zip(ids, np.isnan(flow.values).mean(axis=0).astype(float), strict=True))
    yearly = yearly_missing(flow, rules.year_days)
    lats = flows["station_lat"].values if "station_lat" in flows.coords else [np.nan] * len(ids)
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for sid, lat in zip(ids, lats, strict=True):
        n_bad = int((yearly[sid] > rules.max_missing_year).sum())
        if total[sid] > rules.max_missing:
            dropped[sid] = f"missing {total[sid]:.2f} > {rules.max_missing:.2f} of the period"
        elif n_bad > rules.n_worse_years:
            dropped[sid] = (
                f"{n_bad} years with missing > {rules.max_missing_year:.2f} "
                f"(allowed {rules.n_worse_years})"
            )
        elif rules.max_lat is not None and np.isfinite(lat) and lat >= rules.max_lat:
            dropped[sid] = f"latitude {lat:.2f} >= {rules.max_lat:.2f}"
        else:
            kept.append(sid)
    return Selection(kept=kept, dropped=dropped, missing=total)


def concat_stations(parts: list[xr.Dataset], source: str) -> xr.Dataset:
    """Join flow Datasets of different stations on a common daily time axis."""
    ids = [str(s) for p in parts for s in p["station"].values]
    dup = sorted({s for s in ids if ids.count(s) > 1})
    if dup:
        raise DataError(
            "the same station appears in more than one file",
            source=source,
            variable="station",
            expected="each station once",
            found=dup[:10],
        )
    joined = xr.concat(parts, dim="station", join="outer", combine_attrs="drop")
    if "flow_symbol" in joined:
        joined["flow_symbol"] = joined["flow_symbol"].fillna("")
    joined.attrs["source"] = source
    return joined
