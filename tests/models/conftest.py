"""Fixtures for the model tests: the published models, the mini year and an independent NumPy
forward pass of the Keras files (h5py + NumPy only, no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.cluster import AgglomerativeClustering

PUBLISHED_SIZES = {0: 52, 1: 62, 2: 34, 3: 12, 4: 39, 5: 27}


@pytest.fixture(scope="session")
def models_dir(shared_data: Path) -> Path:
    """``cnn_lstm_era/models`` with the published .h5 files."""
    return shared_data / "cnn_lstm_era" / "models"


@pytest.fixture(scope="session")
def mini_raw(shared_data: Path) -> dict[str, np.ndarray]:
    """The mini pickles read directly (independent of ``read_mini``)."""
    d = shared_data / "cnn_lstm_era" / "mini"
    return {
        "x": np.asarray(pd.read_pickle(d / "x_intermediate_mini.pickle")),
        "y": np.asarray(pd.read_pickle(d / "y_mini.pickle"), dtype=np.float64),
        "flowseason": np.asarray(pd.read_pickle(d / "flowseason_norm.pickle")),
        "info": pd.read_pickle(d / "station_info.pickle"),
    }


@pytest.fixture(scope="session")
def mini(shared_data: Path):
    """The mini year through ``read_mini`` (no basin masks: faster)."""
    from hydrointerp.data.mini import read_mini

    return read_mini(shared_data / "cnn_lstm_era" / "mini", basin_masks=False)


@pytest.fixture(scope="session")
def published_clusters(mini_raw, mini) -> dict[str, int]:
    """The published 6-cluster partition (METHODS.md section 3), labels mapped by cluster size."""
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731 - population std, as published
    lat, lon = mini_raw["info"]["Latitude"].to_numpy(), mini_raw["info"]["Longitude"].to_numpy()
    features = np.hstack(
        [
            mini_raw["flowseason"].T,
            np.repeat(z(lat)[:, None], 182, axis=1),
            np.repeat(z(lon)[:, None], 183, axis=1),
        ]
    )
    labels = AgglomerativeClustering(n_clusters=6).fit_predict(features)
    by_size = {n: k for k, n in PUBLISHED_SIZES.items()}
    mapping = {lab: by_size[int((labels == lab).sum())] for lab in range(6)}
    return {str(s): mapping[lab] for s, lab in zip(mini.station.values, labels, strict=True)}


def nse(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Nash-Sutcliffe efficiency per column."""
    obs = obs.astype(np.float64)
    return 1 - ((pred - obs) ** 2).sum(0) / ((obs - obs.mean(0)) ** 2).sum(0)


# ---------------------------------------------------------------------- NumPy reference forward
def read_keras_numpy(path: Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """(layer kind, weights) in model order, read from the .h5 with h5py alone."""
    with h5py.File(path, "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        out = []
        for layer in layers:
            kind = layer["class_name"]
            if kind == "TimeDistributed":
                kind = layer["config"]["layer"]["class_name"]
            if kind == "InputLayer":
                continue
            group = f["model_weights"][layer["config"]["name"]]
            ws = {}
            for wname in group.attrs["weight_names"]:
                wname = wname.decode() if isinstance(wname, bytes) else wname
                ws[wname.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(group[wname], np.float64)
            out.append((kind, ws))
    return out


def _conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x[D, H, W, C]`` conv (kh, kw, C, O) with zero 'same' padding, explicit shifts + matmul."""
    kh, kw = kernel.shape[:2]
    ph, pw = kh // 2, kw // 2
    h, w = x.shape[1:3]
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    out = np.zeros((*x.shape[:3], kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i : i + h, j : j + w] @ kernel[i, j]
    return np.maximum(out + bias, 0.0)


def numpy_encode(layers: list, days: np.ndarray) -> np.ndarray:
    """The time-distributed CNN in NumPy: ``days[D, H, W, C] -> [D, F]``."""
    z = days.astype(np.float64)
    for kind, ws in layers:
        if kind == "Conv2D":
            z = _conv_same(z, ws["kernel"], ws["bias"])
        elif kind == "MaxPooling2D":
            d, h, w, c = z.shape
            z = z[:, : h // 2 * 2, : w // 2 * 2].reshape(d, h // 2, 2, w // 2, 2, c).max((2, 4))
        elif kind == "GlobalMaxPooling2D":
            z = z.max(axis=(1, 2))
    return z


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def numpy_predict(layers: list, days: np.ndarray, targets: np.ndarray, lookback: int = 365):
    """Predict targets ``t`` (window ``days[t - lookback : t]``) with the Keras LSTM equations."""
    feats = numpy_encode(layers, days)
    lstm = next(ws for kind, ws in layers if kind == "LSTM")
    dense = next(ws for kind, ws in layers if kind == "Dense")
    units = lstm["recurrent_kernel"].shape[0]
    proj = feats @ lstm["kernel"] + lstm["bias"]
    h = np.zeros((len(targets), units))
    c = np.zeros((len(targets), units))
    for step in range(lookback):
        z = proj[targets - lookback + step] + h @ lstm["recurrent_kernel"]
        i, f, g, o = np.split(z, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    return h @ dense["kernel"] + dense["bias"]


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """The independent NumPy reference: ``read``, ``encode``, ``predict`` and ``nse``."""
    return SimpleNamespace(
        read=read_keras_numpy, encode=numpy_encode, predict=numpy_predict, nse=nse
    )


@pytest.fixture
def random_lstm():
    """Factory ``(inputs, units, seed, scale=1.0) -> nn.LSTM`` with N(0, scale^2) weights."""

    def make(inputs: int, units: int, seed: int, scale: float = 1.0) -> torch.nn.LSTM:
        gen = torch.Generator().manual_seed(seed)
        lstm = torch.nn.LSTM(inputs, units, batch_first=True)
        with torch.no_grad():
            for w in lstm.parameters():
                w.copy_(scale * torch.randn(w.shape, generator=gen))
        return lstm

    return make
