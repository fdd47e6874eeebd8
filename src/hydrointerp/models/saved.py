"""The project's own saved-model format, and one loader for it and for Keras HDF5 files.

A saved model is one ``.pt`` file written by :func:`torch.save` holding a plain dict::

    {"format": "hydrointerp-cnnlstm", "format_version": 1,
     "architecture": Architecture.to_dict(), "state_dict": {...}, "provenance": {...},
     "tensor_sha256": "..."}

It loads with ``torch.load(weights_only=True)`` (no pickled code). Writes are atomic.

Integrity: ``tensor_sha256`` is the SHA-256 of every tensor (name, dtype, shape and raw bytes, in
name order; :func:`tensor_checksum`). On load it is recomputed, so a flipped byte inside a
weight is a :class:`~hydrointerp.errors.ModelFormatError`, and every weight must be finite (as the
Keras importer requires). Files saved before the checksum existed load with an
:class:`UnverifiedModelWarning`; ``hydrointerp import-keras`` or re-saving adds the checksum.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import h5py
import torch

from hydrointerp.atomic import atomic_path
from hydrointerp.errors import ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.keras_import import is_keras_file, load_keras_model

FORMAT = "hydrointerp-cnnlstm"
FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
CHECKSUM_KEY = "tensor_sha256"


class UnverifiedModelWarning(UserWarning):
    """A saved model without a tensor checksum (written before checksums existed) was loaded."""


def tensor_checksum(state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors: each one's name, dtype, shape and raw bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_finite(state_dict: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse a weight tensor holding NaN or inf (the Keras importer's rule, for ``.pt`` too)."""
    for name, tensor in state_dict.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            n_bad = int((~torch.isfinite(tensor)).sum())
            raise ModelFormatError(
                f"{path}: weight {name!r} has NaN or inf; expected: finite values;"
                f" found: {n_bad} of {tensor.numel()} values not finite"
            )


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
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.arch.to_dict(),
        "state_dict": state,
        "provenance": _plain(prov),
        CHECKSUM_KEY: tensor_checksum(state),
    }
    need = sum(t.numel() * t.element_size() for t in state.values())
    with atomic_path(path, need_bytes=need) as tmp:
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
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFormatError(f"{path}: 'state_dict' is not a mapping of tensors")
    _verify(payload, state, path)
    model = CNNLSTM(Architecture.from_dict(payload["architecture"]))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFormatError(f"{path}: weights do not fit the architecture ({exc})") from exc
    model.provenance = dict(payload.get("provenance") or {})
    return model.to(device).eval()


def _verify(payload: dict, state: dict[str, torch.Tensor], path: Path) -> None:
    """Check the stored tensor checksum (warn when there is none) and that weights are finite."""
    stored = payload.get(CHECKSUM_KEY)
    if stored is None:
        warnings.warn(
            f"{path}: saved without a tensor checksum (older hydrointerp); its weights cannot be"
            " verified. Re-save it (load_model + save_model) to add one",
            UnverifiedModelWarning,
            stacklevel=4,
        )
    else:
        found = tensor_checksum(state)
        if found != stored:
            raise ModelFormatError(
                f"{path}: weights are damaged (checksum mismatch); expected: tensor_sha256"
                f" {stored[:16]}...; found: {found[:16]}... Restore the file from a copy or"
                " retrain"
            )
    check_finite(state, path)


def _hdf5_problem(path: Path) -> str | None:
    """Why an HDF5 file cannot be opened (e.g. truncated), or None when it opens."""
    try:
        with h5py.File(path, "r"):
            return None
    except (OSError, ValueError) as exc:
        text = str(exc)
        if "truncated" in text:
            return (
                f"{path}: HDF5 file is truncated (an incomplete copy or download); expected:"
                f" the whole file; found: {path.stat().st_size} bytes ({text})"
            )
        return f"{path}: HDF5 file is damaged and cannot be opened ({text})"


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> CNNLSTM:
    """Load a model saved by :func:`save_model` or a published Keras ``.h5``, told apart by content.

    Raises
    ------
    ModelFormatError
        When the file is missing, truncated, of neither format, its weights do not fit, are
        not finite or do not match the stored checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: model file not found")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == _HDF5_MAGIC:
        problem = _hdf5_problem(path)
        if problem is not None:
            raise ModelFormatError(problem)
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
