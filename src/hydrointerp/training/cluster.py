"""Station clustering on seasonal flow and location (METHODS.md section 3).

Each station gets 730 features: its z-scored seasonal flow (365 values), its z-scored latitude
repeated 182 times and its z-scored longitude repeated 183 times ("half seasonal, quarter lat,
quarter lon"). Ward agglomerative clustering groups them. For six clusters of the 226 published
stations the labels are mapped to the official numbering by cluster size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import colormaps
from matplotlib.colors import to_hex
from sklearn.cluster import AgglomerativeClustering

from hydrointerp.errors import DataError
from hydrointerp.published import CLUSTERS as PUBLISHED_CLUSTERS

N_SEASON = 365
N_LAT = 182
N_LON = 183


def seasonal_flow(region: xr.Dataset, years: tuple[int, int] | None = None) -> xr.DataArray:
    """Z-scored seasonal flow climatology ``(dayofyear, station)``, 365 days.

    Published recipe (METHODS.md 1.4): 365-day blocks from Jan 1 (a leap year's Dec 31 is
    dropped), the NaN-ignoring mean over the years of each within-year index, remaining NaN set to
    the station's minimum seasonal value, then each station z-scored over its 365 values
    (population std). ``years`` (inclusive) defaults to the whole record, as published.
    """
    flow = region["flow"]
    time = pd.DatetimeIndex(flow["time"].values)
    keep = np.asarray(time.day_of_year <= N_SEASON)
    if years is not None:
        keep &= np.asarray((time.year >= years[0]) & (time.year <= years[1]))
    if not keep.any():
        raise DataError("no flow in the requested years", variable="flow", expected=years)
    f = flow.isel(time=keep).astype(np.float64)
    k = xr.DataArray(np.asarray(time[keep].day_of_year), dims="time", name="dayofyear")
    season = f.groupby(k).mean("time", skipna=True).reindex(dayofyear=np.arange(1, 366))
    season = season.fillna(season.min("dayofyear"))
    empty = season.isnull().all("dayofyear").values
    if empty.any():
        raise DataError(
            "stations without any flow",
            variable="flow",
            found=[str(s) for s in season["station"].values[empty]][:10],
        )
    z = (season - season.mean("dayofyear")) / season.std("dayofyear")
    z = z.transpose("dayofyear", "station").rename("flowseason")
    z.attrs = {"long_name": "z-scored seasonal flow climatology", "units": "1"}
    return z


def _zscore(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return (v - v.mean()) / v.std()


def cluster_features(
    flowseason: xr.DataArray, lat: np.ndarray | xr.DataArray, lon: np.ndarray | xr.DataArray
) -> xr.DataArray:
    """The 730 clustering features per station ``(station, feature)``.

    Parameters
    ----------
    flowseason
        ``(dayofyear, station)`` z-scored seasonal flow, 365 days.
    lat, lon
        Station latitudes and longitudes (degrees; sign conventions do not matter).
    """
    if flowseason.sizes.get("dayofyear") != N_SEASON:
        raise DataError(
            "seasonal flow must have 365 days",
            variable="flowseason",
            expected=N_SEASON,
            found=dict(flowseason.sizes),
        )
    fs = flowseason.transpose("station", "dayofyear").values.astype(np.float64)
    zlat, zlon = _zscore(np.asarray(lat)), _zscore(np.asarray(lon))
    if len(zlat) != fs.shape[0] or len(zlon) != fs.shape[0]:
        raise DataError(
            "one latitude and longitude per station needed",
            variable="lat/lon",
            expected=fs.shape[0],
            found=(len(zlat), len(zlon)),
        )
    feats = np.concatenate(
        [fs, np.repeat(zlat[:, None], N_LAT, axis=1), np.repeat(zlon[:, None], N_LON, axis=1)],
        axis=1,
    )
    return xr.DataArray(
        feats,
        dims=("station", "feature"),
        coords={"station": flowseason["station"].values},
        name="cluster_features",
        attrs={"long_name": "365 seasonal flow + 182 z-lat + 183 z-lon", "units": "1"},
    )


def _relabel_by_size(labels: np.ndarray) -> tuple[np.ndarray, bool]:
    """Map sklearn labels to the official ones when the sizes match the published clusters."""
    sizes = np.bincount(labels)
    official = {size: k for k, (_, size, _) in PUBLISHED_CLUSTERS.items()}
    if len(sizes) == len(official) and sorted(sizes) == sorted(official):
        mapping = np.array([official[s] for s in sizes])
        return mapping[labels], True
    order = np.argsort(-sizes, kind="stable")  # otherwise: largest cluster first
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels], False


def cluster_stations(
    flowseason: xr.DataArray,
    lat: np.ndarray | xr.DataArray,
    lon: np.ndarray | xr.DataArray,
    n_clusters: int = 6,
) -> xr.DataArray:
    """Ward agglomerative clustering of stations -> ``DataArray cluster(station)``.

    With six clusters of the published sizes the labels follow the official numbering and carry
    ``cluster_name``/``cluster_color`` attrs (METHODS.md section 3); otherwise labels are ordered
    by cluster size (0 = largest) and names are ``cluster k``.
    """
    feats = cluster_features(flowseason, lat, lon)
    if not 1 <= n_clusters <= feats.sizes["station"]:
        raise DataError(
            "invalid number of clusters",
            variable="n_clusters",
            expected=f"1..{feats.sizes['station']}",
            found=n_clusters,
        )
    raw = AgglomerativeClustering(n_clusters=n_clusters, linkage="ward").fit_predict(feats.values)
    labels, official = _relabel_by_size(raw)
    if official:
        names = [PUBLISHED_CLUSTERS[k][0] for k in range(n_clusters)]
        colours = ["#{:02x}{:02x}{:02x}".format(*PUBLISHED_CLUSTERS[k][2]) for k in range(6)]
    else:
        names = [f"cluster {k}" for k in range(n_clusters)]
        colours = [_tab_colour(k) for k in range(n_clusters)]
    out = xr.DataArray(
        labels.astype(np.int64),
        dims="station",
        coords={"station": feats["station"].values},
        name="cluster",
        attrs={
            "long_name": "station cluster (Ward on seasonal flow + location)",
            "cluster_names": names,
            "cluster_colors": colours,
            "official_numbering": int(official),
        },
    )
    return out


def _tab_colour(k: int) -> str:
    return to_hex(colormaps["tab10"](k % 10))


def cluster_groups(clusters: xr.DataArray) -> list[list[str]]:
    """Station ids of each cluster, in cluster order (what ``Ensemble.routed`` takes)."""
    st = np.asarray([str(s) for s in clusters["station"].values])
    lab = clusters.values
    return [st[lab == k].tolist() for k in range(int(lab.max()) + 1)]


def clusters_table(clusters: xr.DataArray) -> pd.DataFrame:
    """``station_id, cluster`` (plus ``cluster_name``) as written to ``clusters.csv``."""
    names = clusters.attrs.get("cluster_names")
    df = pd.DataFrame(
        {"station_id": [str(s) for s in clusters["station"].values], "cluster": clusters.values}
    )
    if names:
        df["cluster_name"] = [names[k] for k in clusters.values]
    return df


def read_clusters_table(path: str) -> xr.DataArray:
    """Read a ``clusters.csv`` (columns ``station_id``, ``cluster``) as ``cluster(station)``."""
    try:
        df = pd.read_csv(path, dtype={"station_id": str})
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read clusters table ({exc})", source=str(path)) from exc
    for col in ("station_id", "cluster"):
        if col not in df:
            raise DataError(
                "missing column",
                source=str(path),
                variable=col,
                expected=["station_id", "cluster"],
                found=list(df.columns),
            )
    return xr.DataArray(
        df["cluster"].to_numpy(np.int64),
        dims="station",
        coords={"station": df["station_id"].to_numpy(object)},
        name="cluster",
    )
