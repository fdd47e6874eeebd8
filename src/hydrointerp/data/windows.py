"""Normalisation and look-back windows: RegionData -> tensors the network trains on.

* :class:`Normaliser` (scikit-learn-like): one scalar mean/std per weather channel over all pixels
  and days of the fitting years (METHODS.md section 1.3), one flow mean/std per station over the
  same years ignoring missing days (section 1.4). Saved beside the models and reused for new data.
* The window spec (look-back length, split years, missing-flow policy) is the run config's
  ``windows`` section, :class:`hydrointerp.config.WindowSpec`; :func:`resolve_split` fills the
  split periods a config leaves to the data.
* :func:`make_windows`: a :class:`Windows` holding the normalised frames ``[D, H, W, C]`` once, the
  normalised targets ``[T, S]`` (NaN = missing) and the target indices of every split. The window
  of target ``t`` is ``frames[t - lookback : t]`` (the days before the target), as the
  :class:`~hydrointerp.predictor.Predictor` protocol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from hydrointerp.atomic import write_netcdf
from hydrointerp.config import Split, WindowSpec
from hydrointerp.data.region import is_normalised, weather_end
from hydrointerp.errors import DataError
from hydrointerp.published import CHANNEL_MEAN as PUBLISHED_CHANNEL_MEAN
from hydrointerp.published import CHANNEL_STD as PUBLISHED_CHANNEL_STD
from hydrointerp.published import PRECIP_MEAN_OVER_STD as PUBLISHED_PRECIP_MEAN_OVER_STD

#: Published physical constants of the normalised mini year (METHODS.md section 1.3, corrected
#: for the swapped means). Precipitation's mean and std are unknown (only mean/std = 0.4748).


SPLITS = ("train", "val", "test")


def _years_mask(time: pd.DatetimeIndex, years: tuple[int, int]) -> np.ndarray:
    return np.asarray((time.year >= years[0]) & (time.year <= years[1]))


class Normaliser:
    """Per-channel scalar weather normalisation and per-station flow z-scores.

    Parameters
    ----------
    channel_mean, channel_std
        ``DataArray(channel)`` in physical units.
    flow_mean, flow_std
        ``DataArray(station)`` in m3/s.
    identity
        True for an already-normalised region (the published mini year): every transform is the
        identity and the published constants are only recorded.
    fit_years
        Inclusive first and last calendar year the statistics were computed over.
    """

    def __init__(
        self,
        channel_mean: xr.DataArray | None = None,
        channel_std: xr.DataArray | None = None,
        flow_mean: xr.DataArray | None = None,
        flow_std: xr.DataArray | None = None,
        *,
        identity: bool = False,
        fit_years: tuple[int, int] | None = None,
    ) -> None:
        self.channel_mean = channel_mean
        self.channel_std = channel_std
        self.flow_mean = flow_mean
        self.flow_std = flow_std
        self.identity = identity
        self.fit_years = fit_years

    # ------------------------------------------------------------------ fitting
    def fit(self, region: xr.Dataset, train_years: tuple[int, int]) -> Normaliser:
        """Compute the statistics over ``train_years`` (inclusive calendar years).

        Raises
        ------
        DataError
            When the years hold no weather, or a station has no flow (or constant flow) in them.
        """
        self.fit_years = (int(train_years[0]), int(train_years[1]))
        channels = region["channel"]
        stations = region["station"]
        if is_normalised(region):
            self.identity = True
            self.channel_mean = xr.zeros_like(channels, dtype=np.float64)
            self.channel_std = xr.ones_like(channels, dtype=np.float64)
            self.flow_mean = xr.zeros_like(stations, dtype=np.float64)
            self.flow_std = xr.ones_like(stations, dtype=np.float64)
            return self._named()
        self.identity = False
        weather = region["weather"].sel(time=slice(None, weather_end(region)))
        in_years = _years_mask(pd.DatetimeIndex(weather["time"].values), self.fit_years)
        if not in_years.any():
            raise DataError(
                "no weather in the normalisation years",
                variable="weather",
                expected=f"days in {self.fit_years[0]}-{self.fit_years[1]}",
                found=f"{str(weather.time.values[0])[:10]}..{str(weather.time.values[-1])[:10]}",
            )
        w = weather.isel(time=in_years).astype(np.float64)
        self.channel_mean = w.mean(("time", "lat", "lon"))
        self.channel_std = w.std(("time", "lat", "lon"))
        flow = region["flow"]
        f = flow.isel(time=_years_mask(pd.DatetimeIndex(flow["time"].values), self.fit_years))
        f = f.astype(np.float64)
        self.flow_mean = f.mean("time", skipna=True)
        self.flow_std = f.std("time", skipna=True)
        bad = ~np.isfinite(self.flow_std.values) | (self.flow_std.values <= 0)
        if bad.any():
            raise DataError(
                "stations without usable flow in the normalisation years",
                variable="flow",
                expected=f"non-constant flow in {self.fit_years[0]}-{self.fit_years[1]}",
                found=[str(s) for s in stations.values[bad]][:10],
            )
        return self._named()

    def _named(self) -> Normaliser:
        for name in ("channel_mean", "channel_std", "flow_mean", "flow_std"):
            da = getattr(self, name).drop_vars(
                [c for c in getattr(self, name).coords if c not in ("channel", "station")]
            )
            setattr(self, name, da.rename(name))
        return self

    def _check_fitted(self) -> None:
        if self.channel_mean is None:
            raise DataError("the normaliser is not fitted", variable="Normaliser")

    # ------------------------------------------------------------------ transforms
    def transform_weather(self, region: xr.Dataset) -> xr.DataArray:
        """Normalised ``weather(time, lat, lon, channel)`` (float32) up to the last weather day."""
        self._check_fitted()
        w = region["weather"].sel(time=slice(None, weather_end(region)))
        self._check_channels(w)
        if self.identity:
            out = w.astype(np.float32)
        else:
            out = ((w - self.channel_mean) / self.channel_std).astype(np.float32)
        out.attrs = {"long_name": "normalised daily weather", "units": "1"}
        return out.transpose("time", "lat", "lon", "channel")

    def _check_channels(self, w: xr.DataArray) -> None:
        have = [str(c) for c in w["channel"].values]
        want = [str(c) for c in self.channel_mean["channel"].values]
        if have != want:
            raise DataError(
                "weather channels differ from the fitted ones",
                variable="channel",
                expected=want,
                found=have,
            )

    def _flow_stats(self, flow: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
        missing = sorted(
            set(map(str, flow["station"].values)) - set(map(str, self.flow_mean["station"].values))
        )
        if missing:
            raise DataError(
                "stations unknown to the normaliser",
                variable="station",
                expected="stations seen by fit",
                found=missing[:10],
            )
        st = flow["station"]
        return self.flow_mean.sel(station=st), self.flow_std.sel(station=st)

    def transform_flow(self, flow: xr.DataArray) -> xr.DataArray:
        """Flow z-scores ``(flow - mean_s) / std_s``; NaN stays NaN."""
        self._check_fitted()
        mean, std = self._flow_stats(flow)
        out = ((flow - mean) / std).astype(np.float32)
        out.attrs = {"long_name": "normalised discharge", "units": "1"}
        return out

    def inverse_flow(self, flow: xr.DataArray) -> xr.DataArray:
        """Back from z-scores to m3/s (any extra dims, e.g. ``member``, are kept)."""
        self._check_fitted()
        mean, std = self._flow_stats(flow)
        out = (flow * std + mean).astype(np.float32)
        out.attrs = {"long_name": "daily mean discharge", "units": "m3 s-1"}
        return out

    # ------------------------------------------------------------------ persistence
    def to_dataset(self) -> xr.Dataset:
        """The fitted statistics as a labelled Dataset (what :meth:`save` writes)."""
        self._check_fitted()
        ds = xr.Dataset(
            {
                "channel_mean": self.channel_mean,
                "channel_std": self.channel_std,
                "flow_mean": self.flow_mean,
                "flow_std": self.flow_std,
            }
        )
        ds["channel_mean"].attrs["units"] = "as weather (K, mm day-1)"
        ds["channel_std"].attrs["units"] = "as weather (K, mm day-1)"
        ds["flow_mean"].attrs["units"] = "m3 s-1"
        ds["flow_std"].attrs["units"] = "m3 s-1"
        ds.attrs["identity"] = int(self.identity)
        ds.attrs["fit_years"] = list(self.fit_years) if self.fit_years else []
        if self.identity:
            ch = [str(c) for c in self.channel_mean["channel"].values]
            ds["published_channel_mean"] = (
                "channel",
                [PUBLISHED_CHANNEL_MEAN.get(c, np.nan) for c in ch],
            )
            ds["published_channel_std"] = (
                "channel",
                [PUBLISHED_CHANNEL_STD.get(c, np.nan) for c in ch],
            )
            ds.attrs["published_precip_mean_over_std"] = PUBLISHED_PRECIP_MEAN_OVER_STD
            ds.attrs["note"] = "inputs were already normalised; published constants recorded only"
        return ds

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the statistics to NetCDF atomically."""
        return write_netcdf(self.to_dataset(), path)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, source: str = "<memory>") -> Normaliser:
        """Inverse of :meth:`to_dataset`."""
        need = ("channel_mean", "channel_std", "flow_mean", "flow_std")
        absent = [n for n in need if n not in ds]
        if absent:
            raise DataError(
                "not a normaliser file",
                source=source,
                variable=absent[0],
                expected=list(need),
                found=list(ds.data_vars),
            )
        ds = ds.assign_coords(
            channel=ds["channel"].astype(str).astype(object),
            station=ds["station"].astype(str).astype(object),
        )
        years = ds.attrs.get("fit_years", [])
        years = np.atleast_1d(years)
        return cls(
            ds["channel_mean"],
            ds["channel_std"],
            ds["flow_mean"],
            ds["flow_std"],
            identity=bool(int(ds.attrs.get("identity", 0))),
            fit_years=(int(years[0]), int(years[1])) if len(years) == 2 else None,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Normaliser:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise DataError("normaliser file not found", source=str(path))
        return cls.from_dataset(xr.load_dataset(path, engine="h5netcdf"), str(path))


def resolve_split(spec: WindowSpec, region: xr.Dataset) -> WindowSpec:
    """``spec`` with every split period set: the given ones kept, the missing ones taken from
    the region's target years (those after the first look-back): the first 60 %, the next 20 %
    and the last 20 % (at least one year each); with fewer than three usable years every
    missing period is the last usable year (a mini year: train = val = test)."""
    given = {name: getattr(spec.split, name) for name in SPLITS}
    if all(v is not None for v in given.values()):
        return spec
    years = np.unique(region["time"].dt.year.values)
    first = int(years[0]) + int(np.ceil(spec.lookback / 365.0))
    usable = [int(y) for y in years if y >= first]
    if len(usable) < 3:
        only = (usable[-1], usable[-1]) if usable else (int(years[-1]), int(years[-1]))
        default = {"train": only, "val": only, "test": only}
    else:
        n = len(usable)
        n_test = max(1, round(0.2 * n))
        n_val = max(1, round(0.2 * n))
        n_train = n - n_val - n_test
        default = {
            "train": (usable[0], usable[n_train - 1]),
            "val": (usable[n_train], usable[n_train + n_val - 1]),
            "test": (usable[n_train + n_val], usable[-1]),
        }
    split = Split(**{k: v if v is not None else default[k] for k, v in given.items()})
    return spec.model_copy(update={"split": split})


@dataclass
class Windows:
    """Normalised frames once, targets, and the target indices of each split.

    Attributes
    ----------
    frames
        ``[D, H, W, C]`` float32 normalised weather for the days ``dates[:D]``.
    targets
        ``[T, S]`` float32 normalised flow for ``dates`` (``T >= D``); NaN = missing.
    splits
        Split name -> int64 array of target indices ``t`` (window ``frames[t - lookback : t]``).
    """

    frames: torch.Tensor
    targets: torch.Tensor
    splits: dict[str, np.ndarray]
    dates: pd.DatetimeIndex
    station_ids: tuple[str, ...]
    lookback: int
    lat: np.ndarray
    lon: np.ndarray

    @property
    def n_stations(self) -> int:
        """Number of target stations."""
        return len(self.station_ids)

    def subset_stations(self, stations: list[str] | tuple[str, ...]) -> Windows:
        """The same windows with targets restricted to ``stations`` (in that order)."""
        pos = {s: i for i, s in enumerate(self.station_ids)}
        unknown = [s for s in stations if s not in pos]
        if unknown:
            raise DataError("unknown stations", variable="station", found=unknown[:10])
        cols = torch.as_tensor([pos[s] for s in stations], dtype=torch.long)
        return Windows(
            self.frames,
            self.targets[:, cols].contiguous(),
            self.splits,
            self.dates,
            tuple(stations),
            self.lookback,
            self.lat,
            self.lon,
        )

    def observed(self, split: str) -> xr.DataArray:
        """Normalised observed flow ``(time, station)`` of a split's targets (NaN = missing)."""
        idx = self.splits[split]
        return xr.DataArray(
            self.targets[idx].numpy(),
            dims=("time", "station"),
            coords={"time": self.dates[idx], "station": list(self.station_ids)},
            name="flow",
            attrs={"long_name": "normalised observed discharge", "units": "1"},
        )


def climatology_fill(flow: xr.DataArray) -> xr.DataArray:
    """Fill missing days with the station's within-year-index mean (METHODS.md section 1.4).

    The within-year index counts days from Jan 1 (365-day blocks; Dec 31 of a leap year takes the
    Dec 30 value, as published); climatology NaNs become the station's minimum seasonal value.
    """
    time = pd.DatetimeIndex(flow["time"].values)
    k = np.minimum(np.asarray(time.day_of_year) - 1, 364)
    season = flow.groupby(xr.DataArray(k, dims="time", name="k")).mean("time", skipna=True)
    season = season.fillna(season.min("k"))
    filled = season.sel(k=xr.DataArray(k, dims="time")).drop_vars("k")
    return flow.fillna(filled.assign_coords(time=flow["time"]))


def _split_indices(dates: pd.DatetimeIndex, n_weather: int, spec: WindowSpec) -> dict:
    t = np.arange(len(dates))
    valid = (t >= spec.lookback) & (t <= n_weather)
    out = {}
    for name in SPLITS:
        a, b = spec.split.years(name)
        out[name] = t[valid & (dates.year >= a) & (dates.year <= b)].astype(np.int64)
    return out


def make_windows(region: xr.Dataset, normaliser: Normaliser, spec: WindowSpec) -> Windows:
    """Normalise a RegionData and index its look-back windows.

    ``spec`` is the run config's ``windows`` section with every split period set (given, or
    filled by :func:`resolve_split`).

    Raises
    ------
    DataError
        If the weather has gaps (NaN) before its last day.
    ConfigError
        If a split period is not set.
    """
    weather = normaliser.transform_weather(region)
    values = weather.values
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(values))[0]
        raise DataError(
            "missing weather",
            variable="weather",
            expected="finite values",
            found=f"NaN on {str(weather.time.values[bad[0]])[:10]}",
        )
    flow = region["flow"]
    if spec.missing_flow == "climatology" and not is_normalised(region):
        flow = climatology_fill(flow)
    targets = normaliser.transform_flow(flow).transpose("time", "station")
    if spec.missing_flow == "climatology" and is_normalised(region):
        targets = climatology_fill(targets)
    frames = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    if spec.float16_inputs:
        frames = frames.half().float()
    dates = pd.DatetimeIndex(region["time"].values)
    splits = _split_indices(dates, frames.shape[0], spec)
    return Windows(
        frames=frames,
        targets=torch.from_numpy(np.ascontiguousarray(targets.values, dtype=np.float32)),
        splits=splits,
        dates=dates,
        station_ids=tuple(str(s) for s in region["station"].values),
        lookback=spec.lookback,
        lat=np.asarray(region["lat"].values),
        lon=np.asarray(region["lon"].values),
    )
