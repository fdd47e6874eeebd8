"""The ``device`` setting shared by run configs and training settings."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import AfterValidator


def checked_device(value: str) -> str:
    """``value`` if it names a torch device this machine can use (``cpu``, ``cuda``, ``cuda:1``).

    Raises
    ------
    ValueError
        Not a torch device name, or a CUDA device on a machine without CUDA.
    """
    try:
        dev = torch.device(value)
    except RuntimeError as exc:
        raise ValueError(f"device {value!r} is not a torch device ({exc})") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {value!r}: CUDA is not available on this machine")
    return value


#: A pydantic field type: a device name checked by :func:`checked_device`.
DeviceName = Annotated[str, AfterValidator(checked_device)]
