"""The project's own saved-model format, and one loader for it and for Keras HDF5 files.

A saved model is one ``.pt`` file written by :func:`torch.save` holding a plain dict::

    {"format": "hydrointerp-cnnlstm", "format_version": 1,
     "architecture": Architecture.to_dict(), "state_dict": {...}, "provenance": {...}}

It loads with ``torch.load(weights_only=True)`` (no pickled code). Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from hydrointerp.atomic import atomic_path
from hydrointerp.errors import ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.keras_import import is_keras_file, load_keras_model

FORMAT = "hydrointerp-cnnlstm"
FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def save_model(
    model: CNNLSTM, path: str | os.PathLike[str], provenance: dict | None = None
) -> Path:
    """Write ``model`` to ``path`` (``.pt``) atomically.

    Parameters
    ----------
    model
        The network to save (its weights are copied to the CPU).
    path
        Target file.
    provenance
        Extra provenance merged over ``model.provenance`` (e.g. training settings).

    Returns
    -------
    Path
        ``path``.
    """
    prov = {**getattr(model, "provenance", {}), **(provenance or {})}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.arch.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "provenance": _plain(prov),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def _plain(value: object) -> object:
    """Provenance restricted to types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _load_pt(path: Path, device: str | torch.device) -> CNNLSTM:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file for the user
        raise ModelFormatError(f"{path}: cannot read as a saved model ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFormatError(f"{path}: not a {FORMAT} file (no 'format' key)")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: format_version {version}; expected {FORMAT_VERSION}")
    model = CNNLSTM(Architecture.from_dict(payload["architecture"]))
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise ModelFormatError(f"{path}: weights do not fit the architecture ({exc})") from exc
    model.provenance = dict(payload.get("provenance") or {})
    return model.to(device).eval()


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> CNNLSTM:
    """Load a model saved by :func:`save_model` or a published Keras ``.h5``, told apart by content.

    Raises
    ------
    ModelFormatError
        When the file is missing, of neither format, or its weights do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: model file not found")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == _HDF5_MAGIC:
        if not is_keras_file(path):
            raise ModelFormatError(f"{path}: HDF5 file without a Keras 'model_config'")
        return load_keras_model(path, device)
    return _load_pt(path, device)


def import_keras(
    sources: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Convert Keras ``.h5`` files to saved models ``out_dir/<stem>.pt``; returns the new paths."""
    out = Path(out_dir)
    written = []
    for src in sources:
        model = load_keras_model(src)
        written.append(save_model(model, out / f"{Path(src).stem}.pt"))
    return written
