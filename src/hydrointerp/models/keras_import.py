"""Import the published Keras 2.x HDF5 CNN-LSTMs into :class:`CNNLSTM` with h5py alone.

The file's ``model_config`` attribute (JSON) describes a ``Sequential`` model; every layer is
checked against what :class:`~hydrointerp.models.cnn_lstm.CNNLSTM` can represent, then the weights
under ``model_weights/<layer>/`` are mapped as in METHODS.md section 2.5:

* conv kernel ``(kh, kw, in, out)`` -> ``weight.permute(3, 2, 0, 1)``; bias unchanged;
* LSTM kernel ``W (F, 4U)`` -> ``weight_ih = W.T``, recurrent ``U (U, 4U)`` -> ``weight_hh = U.T``,
  ``bias_ih = b``, ``bias_hh = 0`` (gate order i, f, g, o is shared by Keras and PyTorch);
* dense kernel ``K (U, N)`` -> ``weight = K.T``.

No TensorFlow is needed. Any layer or weight that does not fit raises :class:`ModelFormatError`
naming the file, the layer and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch

from hydrointerp.errors import ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture

_CONV_EXPECT = {
    "strides": [1, 1],
    "padding": "same",
    "data_format": "channels_last",
    "dilation_rate": [1, 1],
    "groups": 1,
    "activation": "relu",
    "use_bias": True,
}
_POOL_EXPECT = {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}
_LSTM_EXPECT = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
}
_STACK = (
    "InputLayer? -> TimeDistributed(Conv2D)+ with one TimeDistributed(MaxPooling2D) -> "
    "TimeDistributed(GlobalMaxPooling2D) -> TimeDistributed(Flatten)? -> Dropout? -> LSTM -> Dense"
)


@dataclass
class _Plan:
    """What the config says: the architecture and the Keras layer name of each weight block."""

    conv_layers: list[str] = field(default_factory=list)
    conv_filters: list[int] = field(default_factory=list)
    conv_kernels: list[int] = field(default_factory=list)
    pool_after: int = -1
    dropout: float = 0.0
    in_channels: int = 3
    input_shape: list | None = None
    lstm_layer: str = ""
    lstm_units: int = 0
    dense_layer: str = ""
    n_out: int = 0

    def architecture(self) -> Architecture:
        return Architecture(
            n_out=self.n_out,
            in_channels=self.in_channels,
            conv_filters=tuple(self.conv_filters),
            conv_kernels=tuple(self.conv_kernels),
            pool_after=self.pool_after,
            dropout=self.dropout,
            lstm_units=self.lstm_units,
        )


def _fail(path: Path, layer: str, expected: object, found: object) -> ModelFormatError:
    return ModelFormatError(
        f"cannot represent Keras model {path}: layer {layer!r}; expected {expected}; found {found}"
    )


def _check_settings(path: Path, name: str, cfg: dict, expect: dict) -> None:
    for key, want in expect.items():
        got = cfg.get(key, want)
        if isinstance(got, tuple):
            got = list(got)
        if got != want:
            raise _fail(path, name, f"{key}={want!r}", f"{key}={got!r}")


def _conv(path: Path, name: str, cfg: dict, plan: _Plan) -> None:
    _check_settings(path, name, cfg, _CONV_EXPECT)
    k = list(cfg.get("kernel_size", []))
    if len(k) != 2 or k[0] != k[1] or k[0] % 2 != 1:
        raise _fail(path, name, "a square odd kernel_size", k)
    plan.conv_layers.append(name)
    plan.conv_filters.append(int(cfg["filters"]))
    plan.conv_kernels.append(int(k[0]))


def _time_distributed(path: Path, layer: dict, plan: _Plan, state: dict) -> None:
    name = layer["config"]["name"]
    inner = layer["config"].get("layer", {})
    kind, cfg = inner.get("class_name"), inner.get("config", {})
    if state["stage"] not in ("cnn",):
        raise _fail(path, name, _STACK, f"TimeDistributed({kind}) after {state['stage']}")
    if kind == "Conv2D" and not state["global_pool"]:
        _conv(path, name, cfg, plan)
    elif kind == "MaxPooling2D" and plan.pool_after < 0 and plan.conv_layers:
        _check_settings(path, name, cfg, _POOL_EXPECT)
        plan.pool_after = len(plan.conv_layers) - 1
    elif kind == "GlobalMaxPooling2D" and not state["global_pool"] and plan.conv_layers:
        state["global_pool"] = True
    elif kind == "Flatten" and state["global_pool"] and not state["flatten"]:
        state["flatten"] = True
    else:
        raise _fail(path, name, _STACK, f"TimeDistributed({kind}) at this position")
    if "batch_input_shape" in layer["config"] and plan.input_shape is None:
        plan.input_shape = list(layer["config"]["batch_input_shape"])


def _walk(path: Path, layers: list[dict]) -> _Plan:
    plan = _Plan()
    state = {"stage": "cnn", "global_pool": False, "flatten": False}
    for layer in layers:
        kind, cfg = layer.get("class_name"), layer.get("config", {})
        name = cfg.get("name", "?")
        if kind == "InputLayer" and not plan.conv_layers and state["stage"] == "cnn":
            plan.input_shape = list(cfg.get("batch_input_shape") or [])
        elif kind == "TimeDistributed":
            _time_distributed(path, layer, plan, state)
        elif kind == "Dropout" and state["stage"] == "cnn" and state["global_pool"]:
            if cfg.get("noise_shape") is not None:
                raise _fail(path, name, "noise_shape=None", cfg.get("noise_shape"))
            plan.dropout = float(cfg.get("rate", 0.0))
            state["stage"] = "dropout"
        elif kind == "LSTM" and state["stage"] in ("cnn", "dropout") and state["global_pool"]:
            _check_settings(path, name, cfg, _LSTM_EXPECT)
            plan.lstm_layer, plan.lstm_units = name, int(cfg["units"])
            state["stage"] = "lstm"
        elif kind == "Dense" and state["stage"] == "lstm":
            _check_settings(path, name, cfg, {"activation": "linear", "use_bias": True})
            plan.dense_layer, plan.n_out = name, int(cfg["units"])
            state["stage"] = "dense"
        else:
            raise _fail(path, name, _STACK, f"{kind} at position {layers.index(layer)}")
    if state["stage"] != "dense" or plan.pool_after < 0:
        raise _fail(path, "<model>", _STACK, f"a stack ending at {state['stage']}")
    if plan.input_shape and len(plan.input_shape) == 5 and plan.input_shape[-1]:
        plan.in_channels = int(plan.input_shape[-1])
    return plan


def read_config(path: str | os.PathLike[str]) -> dict:
    """Return the parsed ``model_config`` JSON of a Keras HDF5 file."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ModelFormatError(f"{path}: no 'model_config' attribute; not a Keras model file")
        if isinstance(raw, bytes):
            raw = raw.decode()
    return json.loads(raw)


def _weights(f: h5py.File, path: Path, layer: str) -> dict[str, np.ndarray]:
    """Weights of one layer keyed by their short name (``kernel``, ``bias``, ...)."""
    if "model_weights" not in f:
        raise ModelFormatError(f"{path}: no 'model_weights' group; the file holds no weights")
    root = f["model_weights"]
    if layer not in root:
        raise ModelFormatError(f"{path}: missing weights of layer {layer!r}")
    group = root[layer]
    out = {}
    for raw in group.attrs.get("weight_names", []):
        wname = raw.decode() if isinstance(raw, bytes) else str(raw)
        if wname not in group:
            raise ModelFormatError(f"{path}: missing weight {layer}/{wname}")
        short = wname.rsplit("/", 1)[-1].split(":")[0]
        out[short] = np.asarray(group[wname], dtype=np.float32)
    return out


def _take(ws: dict, path: Path, layer: str, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    if key not in ws:
        raise ModelFormatError(f"{path}: missing weight {key!r} of layer {layer!r}")
    arr = ws[key]
    if arr.shape != shape:
        raise ModelFormatError(
            f"{path}: weight {key!r} of layer {layer!r} has shape {arr.shape}; expected {shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ModelFormatError(f"{path}: weight {key!r} of layer {layer!r} has NaN or inf")
    return torch.from_numpy(arr.copy())


def _load_weights(f: h5py.File, path: Path, plan: _Plan, model: CNNLSTM) -> None:
    convs = [m for m in model.cnn if isinstance(m, torch.nn.Conv2d)]
    c_in = plan.in_channels
    with torch.no_grad():
        for name, conv in zip(plan.conv_layers, convs, strict=True):
            ws = _weights(f, path, name)
            k, c_out = conv.kernel_size[0], conv.out_channels
            conv.weight.copy_(
                _take(ws, path, name, "kernel", (k, k, c_in, c_out)).permute(3, 2, 0, 1)
            )
            conv.bias.copy_(_take(ws, path, name, "bias", (c_out,)))
            c_in = c_out
        u, n_feat = plan.lstm_units, model.n_features
        ws = _weights(f, path, plan.lstm_layer)
        model.lstm.weight_ih_l0.copy_(_take(ws, path, plan.lstm_layer, "kernel", (n_feat, 4 * u)).T)
        rec = _take(ws, path, plan.lstm_layer, "recurrent_kernel", (u, 4 * u))
        model.lstm.weight_hh_l0.copy_(rec.T)
        model.lstm.bias_ih_l0.copy_(_take(ws, path, plan.lstm_layer, "bias", (4 * u,)))
        model.lstm.bias_hh_l0.zero_()
        ws = _weights(f, path, plan.dense_layer)
        model.head.weight.copy_(_take(ws, path, plan.dense_layer, "kernel", (u, plan.n_out)).T)
        model.head.bias.copy_(_take(ws, path, plan.dense_layer, "bias", (plan.n_out,)))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_keras_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an HDF5 file with a Keras ``model_config`` attribute."""
    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except (OSError, ValueError):
        return False


def load_keras_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> CNNLSTM:
    """Load a Keras 2.x HDF5 CNN-LSTM (the published format) without TensorFlow.

    Parameters
    ----------
    path
        ``.h5`` file written by Keras ``model.save`` (Sequential, TimeDistributed CNN, LSTM, Dense).
    device
        Where the returned model lives.

    Returns
    -------
    CNNLSTM
        In eval mode; ``model.provenance`` holds the source file, its sha256, the Keras version and
        backend.

    Raises
    ------
    ModelFormatError
        When the file is not a Keras model, a layer cannot be represented, or a weight is missing
        or mis-shaped (the message names the file, the layer and the weight).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: file not found")
    if not is_keras_file(path):
        raise ModelFormatError(f"{path}: not a Keras HDF5 model (no 'model_config' attribute)")
    config = read_config(path)
    if config.get("class_name") != "Sequential":
        raise _fail(path, "<model>", "a Sequential model", config.get("class_name"))
    plan = _walk(path, config.get("config", {}).get("layers", []))
    model = CNNLSTM(plan.architecture())
    with h5py.File(path, "r") as f:
        _load_weights(f, path, plan, model)
        attrs = {k: f.attrs.get(k) for k in ("keras_version", "backend")}
    model.provenance = {
        "source": str(path.resolve()),
        "source_format": "keras-hdf5",
        "sha256": file_sha256(path),
        "keras_version": _text(attrs["keras_version"]),
        "backend": _text(attrs["backend"]),
        "input_shape": plan.input_shape,
    }
    return model.to(device).eval()


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
