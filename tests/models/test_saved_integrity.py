"""Saved models that are damaged must not load: flipped bytes, NaN weights, truncated files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from hydrointerp.errors import ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.saved import (
    CHECKSUM_KEY,
    UnverifiedModelWarning,
    load_model,
    save_model,
    tensor_checksum,
)

ARCH = Architecture(n_out=3, conv_filters=(4, 4), conv_kernels=(1, 3), pool_after=0)


def _saved(tmp_path, name: str = "m.pt"):
    torch.manual_seed(5)
    model = CNNLSTM(ARCH)
    return model, save_model(model, tmp_path / name)


def _raw_bytes_of(model: CNNLSTM, key: str) -> bytes:
    return model.state_dict()[key].contiguous().numpy().tobytes()


def test_checksum_is_written_and_verified(tmp_path) -> None:
    model, path = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    assert payload[CHECKSUM_KEY] == tensor_checksum(model.state_dict())
    assert len(payload[CHECKSUM_KEY]) == 64
    load_model(path)  # verifies without a warning
    other = dict(model.state_dict())
    other["head.bias"] = other["head.bias"].clone()
    other["head.bias"][0] += 1e-7  # one ulp-sized change moves the digest
    assert tensor_checksum(other) != payload[CHECKSUM_KEY]


def test_flipped_byte_inside_a_weight_is_refused(tmp_path) -> None:
    model, path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    weight = _raw_bytes_of(model, "lstm.weight_hh_l0")
    at = data.find(weight)
    assert at > 0 and data.count(weight) == 1
    data[at + 7] ^= 0x40  # the exponent byte of the second float32: a huge weight
    path.write_bytes(bytes(data))
    flipped = torch.load(path, weights_only=True)["state_dict"]["lstm.weight_hh_l0"]
    assert float(flipped.abs().max()) > 1e6  # the damage is real and would be used
    with pytest.raises(ModelFormatError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: weights are damaged (checksum mismatch)")
    assert "expected: tensor_sha256" in message and "found: " in message
    assert "\n" not in message


def test_nan_weight_is_refused_even_with_a_matching_checksum(tmp_path) -> None:
    model, path = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["head.weight"][1, 2] = float("nan")
    payload[CHECKSUM_KEY] = tensor_checksum(payload["state_dict"])  # written so, e.g. diverged
    torch.save(payload, path)
    with pytest.raises(ModelFormatError) as info:
        load_model(path)
    assert str(info.value) == (
        f"{path}: weight 'head.weight' has NaN or inf; expected: finite values;"
        f" found: 1 of {payload['state_dict']['head.weight'].numel()} values not finite"
    )


def test_old_file_without_checksum_loads_with_a_warning(tmp_path) -> None:
    model, path = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    del payload[CHECKSUM_KEY]
    torch.save(payload, path)
    with pytest.warns(UnverifiedModelWarning, match="without a tensor checksum"):
        back = load_model(path)
    x = torch.randn(1, 6, 12, 32, 3)
    with torch.inference_mode():
        torch.testing.assert_close(back(x), model.eval()(x), atol=0, rtol=0)
    # ... but NaN weights in an old file are still refused
    payload["state_dict"]["head.bias"][0] = float("inf")
    torch.save(payload, path)
    with pytest.warns(UnverifiedModelWarning), pytest.raises(ModelFormatError, match="NaN or inf"):
        load_model(path)


def test_truncated_h5_says_truncated(tmp_path) -> None:
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = "{}"
        f.create_dataset("w", data=np.arange(50_000, dtype=np.float32))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelFormatError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: HDF5 file is truncated")
    assert f"found: {len(whole) // 2} bytes" in message and "not a Keras" not in message


def test_truncated_pt_is_a_model_format_error(tmp_path) -> None:
    _, path = _saved(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelFormatError, match="cannot read as a saved model"):
        load_model(path)
