"""Ensembles of CNN-LSTMs: the 10 bulk models, or the fine-tuned models routed by station cluster.

An :class:`Ensemble` implements the :class:`~hydrointerp.predictor.Predictor` protocol: its
``predict_block`` returns the ensemble mean, ``predict_members`` every member, and ``predict``
labelled xarray output. Fine-tuned ensembles (METHODS.md section 2.3) are *routed*: each cluster's
models predict that cluster's stations, and the outputs are written into the full station order;
member ``i`` of every group together form ensemble member ``i``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from hydrointerp.errors import DataError, ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.models.saved import load_model
from hydrointerp.predictor import ALL_STATIONS, NetworkGroup
from hydrointerp.published import (
    FINE_STEM,
    LOOKBACK,
    MODEL_SUFFIX,
    N_MEMBERS,
    bulk_name,
    fine_name,
    stem_numbers,
)


def _as_frames(frames: torch.Tensor | np.ndarray, float16: bool, device: torch.device):
    x = torch.as_tensor(frames)
    if float16:
        x = x.to(torch.float16)
    return x.to(device=device, dtype=torch.float32)


class Ensemble:
    """Several CNN-LSTMs that predict normalised flow at ``station_ids`` from the same inputs.

    Parameters
    ----------
    members
        Bulk models; each must output ``len(station_ids)`` stations in that order.
    station_ids
        The output station order.
    lookback
        Window length in days (365 for the published models).
    float16_inputs
        Round the inputs through float16 before predicting, as the published windows were stored
        (METHODS.md section 1.6). Default False (inputs used as given, float32).

    Examples
    --------
    >>> models = "../shared/data/cnn_lstm_era/models"
    >>> ens = Ensemble.load_published(models, "bulk", ids)  # doctest: +SKIP
    >>> ds = ens.predict(region["weather"], region.time.sel(time="2011"))  # doctest: +SKIP
    """

    def __init__(
        self,
        members: Sequence[CNNLSTM],
        station_ids: Sequence[str],
        lookback: int = LOOKBACK,
        float16_inputs: bool = False,
    ) -> None:
        ids = tuple(str(s) for s in station_ids)
        self._init_groups({ALL_STATIONS: (tuple(members), ids)}, ids, lookback, float16_inputs)

    @classmethod
    def routed(
        cls,
        groups: Mapping[object, tuple[Sequence[CNNLSTM], Sequence[str]]],
        station_ids: Sequence[str],
        lookback: int = LOOKBACK,
        float16_inputs: bool = False,
    ) -> Ensemble:
        """Fine-tuned ensemble: ``groups[label] = (members, that group's station ids)``.

        Every station of ``station_ids`` must belong to exactly one group, and every group must
        have the same number of members.
        """
        ens = cls.__new__(cls)
        ens._init_groups(groups, tuple(str(s) for s in station_ids), lookback, float16_inputs)
        return ens

    def _init_groups(
        self,
        groups: Mapping[object, tuple[Sequence[CNNLSTM], Sequence[str]]],
        ids: tuple[str, ...],
        lookback: int,
        f16: bool,
    ) -> None:
        if not groups:
            raise ModelFormatError("an ensemble needs at least one group of models")
        sizes = {len(m) for m, _ in groups.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ModelFormatError(
                f"every group needs the same, non-zero member count; got {sizes}"
            )
        position = {s: i for i, s in enumerate(ids)}
        if len(position) != len(ids):
            raise DataError("duplicate station ids", variable="station_ids")
        covered: list[str] = []
        built: list[NetworkGroup] = []
        for label, (members, group_ids) in groups.items():
            g_ids = tuple(str(s) for s in group_ids)
            unknown = [s for s in g_ids if s not in position]
            if unknown:
                raise DataError(
                    f"group {label!r} has stations outside the ensemble's",
                    variable="station_ids",
                    found=unknown[:5],
                )
            for m in members:
                if m.arch.n_out != len(g_ids):
                    raise ModelFormatError(
                        f"group {label!r}: a member outputs {m.arch.n_out} stations but the group "
                        f"has {len(g_ids)} ({m.provenance.get('source', 'in memory')})"
                    )
            covered += g_ids
            built.append(
                NetworkGroup(label, tuple(members), g_ids, tuple(position[s] for s in g_ids))
            )
        if sorted(covered) != sorted(ids):
            missing = sorted(set(ids) - set(covered))[:5]
            raise DataError(
                "every station must belong to exactly one group",
                variable="station_ids",
                expected=f"{len(ids)} stations once each",
                found=f"{len(covered)} assigned; missing e.g. {missing}",
            )
        self._groups = tuple(built)
        self.station_ids: tuple[str, ...] = ids
        self.lookback = int(lookback)
        self.float16_inputs = bool(f16)
        self.n_members = sizes.pop()

    # ----------------------------------------------------------------- accessors
    def network_groups(self) -> tuple[NetworkGroup, ...]:
        """The groups of models and the stations each predicts (Predictor contract): one group
        ``"all"`` for a bulk ensemble, one per cluster label for a fine-tuned one."""
        return self._groups

    def first_members(self, n: int) -> Ensemble:
        """The same ensemble with only members ``0 .. n - 1`` of every group (Predictor
        contract); the models are shared, not copied."""
        groups = {g.label: (g.members[: int(n)], g.station_ids) for g in self._groups}
        return Ensemble.routed(groups, self.station_ids, self.lookback, self.float16_inputs)

    @property
    def members(self) -> tuple[CNNLSTM, ...]:
        """Every model, group by group."""
        return tuple(m for g in self._groups for m in g.members)

    @property
    def device(self) -> torch.device:
        """Device of the first model."""
        return self.members[0].device

    def to(self, device: str | torch.device) -> Ensemble:
        """Move every model to ``device`` (in place); returns self."""
        for m in self.members:
            m.to(device).eval()
        return self

    # ----------------------------------------------------------------- prediction
    @torch.inference_mode()
    def predict_members(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray
    ) -> torch.Tensor:
        """Every member's prediction: ``frames[P, D, H, W, C] -> [M, P, len(targets), S]``.

        ``frames[D, H, W, C]`` gives ``[M, len(targets), S]``. The window of target ``t`` is
        ``frames[..., t - lookback : t]``, ``lookback <= t <= D``. The result is on the CPU.
        """
        x = _as_frames(frames, self.float16_inputs, self.device)
        single = x.ndim == 4
        if single:
            x = x[None]
        t = np.asarray(targets, dtype=np.int64)
        out = torch.full((self.n_members, x.shape[0], len(t), len(self.station_ids)), torch.nan)
        for g in self._groups:
            idx = torch.tensor(g.positions)
            for i, model in enumerate(g.members):
                out[i][..., idx] = model.predict_block(x, t, lookback=self.lookback)
        return out[:, 0] if single else out

    def predict_block(
        self, frames: torch.Tensor | np.ndarray, targets: Sequence[int] | np.ndarray
    ) -> torch.Tensor:
        """Ensemble mean: ``frames[P, D, H, W, C] -> [P, len(targets), S]`` (Predictor protocol)."""
        return self.predict_members(frames, targets).mean(dim=0)

    def predict(self, frames: xr.DataArray, target_times: Iterable) -> xr.Dataset:
        """Labelled prediction for ``target_times`` from ``frames(time, lat, lon, channel)``.

        ``frames`` are normalised inputs (e.g. ``read_mini()["weather"]``).

        Each target's window is the ``lookback`` days before it, which must all lie in ``frames``
        and be finite (a target may be the day after the last frame).

        Returns
        -------
        xarray.Dataset
            ``prediction(member, time, station)`` and ``ensemble_mean(time, station)``, normalised.
        """
        times = pd.DatetimeIndex(np.atleast_1d(np.asarray(target_times, dtype="datetime64[ns]")))
        x, t = self._windows(frames, times)
        pred = self.predict_members(x, t).numpy()
        coords = {
            "member": np.arange(self.n_members),
            "time": times,
            "station": list(self.station_ids),
        }
        ds = xr.Dataset(
            {
                "prediction": (("member", "time", "station"), pred),
                "ensemble_mean": (("time", "station"), pred.mean(axis=0)),
            },
            coords=coords,
            attrs={"lookback_days": self.lookback, "float16_inputs": int(self.float16_inputs)},
        )
        for name in ("prediction", "ensemble_mean"):
            ds[name].attrs.update(units="1", long_name=f"normalised flow, {name.replace('_', ' ')}")
        return ds

    def _windows(
        self, frames: xr.DataArray, times: pd.DatetimeIndex
    ) -> tuple[np.ndarray, np.ndarray]:
        """The slice of ``frames`` the targets need, and the targets' indices into it."""
        if tuple(frames.dims) != ("time", "lat", "lon", "channel"):
            raise DataError(
                "frames have the wrong dimensions",
                variable="weather",
                expected=("time", "lat", "lon", "channel"),
                found=tuple(frames.dims),
            )
        ftime = pd.DatetimeIndex(frames["time"].values)
        offs = ((times - ftime[0]) / pd.Timedelta(days=1)).to_numpy()
        if len(ftime) > 1 and not (np.diff(ftime.values) == np.timedelta64(1, "D")).all():
            raise DataError("frames time axis is not daily and gap-free", variable="time")
        lo, hi = int(offs.min()) - self.lookback, int(offs.max())
        if len(times) == 0 or lo < 0 or hi > len(ftime) or not np.all(offs == np.round(offs)):
            raise DataError(
                "target days need the preceding lookback days of weather",
                variable="time",
                expected=f"targets from {ftime[0] + pd.Timedelta(days=self.lookback)} "
                f"to {ftime[-1] + pd.Timedelta(days=1)}",
                found=f"{times.min()} .. {times.max()}" if len(times) else "no targets",
            )
        x = np.asarray(frames.values[lo:hi], dtype=np.float32)
        if not np.isfinite(x).all():
            raise DataError("weather in the target windows is not finite", variable="weather")
        return x, offs.astype(np.int64) - lo

    # ----------------------------------------------------------------- published models
    @classmethod
    def load_published(
        cls,
        models_dir: str | os.PathLike[str],
        kind: str,
        station_ids: Sequence[str],
        clusters: Mapping[str, int] | None = None,
        members: Sequence[int] = range(N_MEMBERS),
        device: str | torch.device = "cpu",
        float16_inputs: bool = False,
    ) -> Ensemble:
        """The published ensemble from ``models_dir`` (``model_bulk_{i}.h5`` or
        ``model_fine_{i}_cluster_{k}.h5``; the ``model_fine_0cluster_*`` files are ignored).

        Parameters
        ----------
        kind
            ``"bulk"`` or ``"fine"``.
        clusters
            For ``"fine"``: station id -> cluster label ``k`` (the published labels; each cluster's
            size must match its models' Dense head).
        members
            Ensemble member indices ``i`` to load.
        """
        root = Path(models_dir)
        ids = [str(s) for s in station_ids]
        if kind == "bulk":
            models = [
                load_model(_need(root / f"{bulk_name(i)}{MODEL_SUFFIX}"), device) for i in members
            ]
            return cls(models, ids, float16_inputs=float16_inputs)
        if kind != "fine":
            raise ModelFormatError(f"kind must be 'bulk' or 'fine', got {kind!r}")
        if clusters is None:
            raise DataError("a fine ensemble needs the station clusters", variable="clusters")
        missing = [s for s in ids if s not in clusters]
        if missing:
            raise DataError("stations without a cluster", variable="clusters", found=missing[:5])
        groups = {}
        for k in sorted({int(clusters[s]) for s in ids}):
            group_ids = [s for s in ids if int(clusters[s]) == k]
            paths = [_need(root / f"{fine_name(i, k)}{MODEL_SUFFIX}") for i in members]
            groups[k] = ([load_model(p, device) for p in paths], group_ids)
        return cls.routed(groups, ids, float16_inputs=float16_inputs)


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ModelFormatError(f"{path}: model file not found")
    return path


_SUFFIXES = (".h5", ".pt")


def _expand(paths: Sequence[str | os.PathLike[str]], kind: str) -> list[Path]:
    """Model files: given files as they are, folders expanded to their ``kind`` models."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [
                f
                for f in p.iterdir()
                if f.suffix in _SUFFIXES
                and (FINE_STEM.search(f.stem) if kind == "fine" else "bulk" in f.stem)
            ]
            if not found:
                raise ModelFormatError(f"{p}: no {kind} model files (.h5 or .pt) in this folder")
            files += sorted(found, key=stem_numbers)
        else:
            files.append(_need(p))
    return files


def ensemble_from_paths(
    paths: Sequence[str | os.PathLike[str]],
    station_ids: Sequence[str],
    kind: str = "bulk",
    clusters: Mapping[str, int] | None = None,
    device: str | torch.device = "cpu",
    float16_inputs: bool = False,
) -> Ensemble:
    """An ensemble from model files or folders (``.h5`` or ``.pt``, see :func:`load_model`).

    ``kind="bulk"``: every file is a member predicting all ``station_ids``. ``kind="fine"``:
    files are named ``..._fine_{i}_cluster_{k}`` and routed by ``clusters`` (station -> ``k``).
    """
    files = _expand(paths, kind)
    ids = [str(s) for s in station_ids]
    if kind == "bulk":
        members = [load_model(f, device) for f in files]
        return Ensemble(members, ids, float16_inputs=float16_inputs)
    if kind != "fine":
        raise ModelFormatError(f"kind must be 'bulk' or 'fine', got {kind!r}")
    if clusters is None:
        raise DataError("a fine ensemble needs the station clusters", variable="clusters")
    by_cluster: dict[int, list[tuple[int, Path]]] = {}
    for f in files:
        match = FINE_STEM.search(f.stem)
        if match is None:
            raise ModelFormatError(f"{f}: name must end in fine_<member>_cluster_<k>")
        by_cluster.setdefault(int(match.group(2)), []).append((int(match.group(1)), f))
    groups = {}
    for k in sorted({int(clusters[s]) for s in ids if s in clusters}):
        if k not in by_cluster:
            raise ModelFormatError(f"no fine-tuned model files for cluster {k}")
        members = [load_model(f, device) for _, f in sorted(by_cluster[k])]
        groups[k] = (members, [s for s in ids if clusters.get(s) == k])
    return Ensemble.routed(groups, ids, float16_inputs=float16_inputs)
