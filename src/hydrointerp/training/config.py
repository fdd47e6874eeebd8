"""Settings of one member's optimisation (pydantic; unknown keys are errors).

A run config's ``ensemble.training`` and ``ensemble.fine_tune.training`` sections are
:class:`TrainSettings` (validated when the config is read, :func:`hydrointerp.config.parse_config`);
the model's layers are :class:`hydrointerp.models.cnn_lstm.Architecture` (``ensemble.model``).
Defaults are the published ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hydrointerp.device import DeviceName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainSettings(_Strict):
    """Optimisation of one member (METHODS.md 2.2).

    ``restore_best``: ``"always"`` restores the best-validation weights at the end (default);
    ``"keras"`` reproduces Keras' quirk (METHODS.md 9.8): restore only when early stopping fired,
    keep the last weights when ``max_epochs`` is reached.
    ``sampler``: ``"blocks"`` (default; shuffled runs of consecutive targets that share days) or
    ``"random"`` (the published full shuffle).
    ``lr_schedule``: ``"constant"`` (published) or ``"cosine"``: the learning rate of epoch ``e``
    is ``learning_rate * (1 + cos(pi e / max_epochs)) / 2``, so the last epochs take small steps.
    ``grad_clip``: clip the global gradient norm of each batch to this value (off by default).
    ``validate_start``: also score the starting weights on the validation years, so that
    no epoch that is worse than the start is kept (useful when fine-tuning from a bulk head).
    ``device``: ``"cpu"`` (default) or a CUDA device (``"cuda"``, ``"cuda:1"``). The weather
    stays in host memory; each batch's distinct days are copied to the device. The same seed gives
    bit-identical weights on the CPU; on a GPU, cuDNN and atomic adds make runs agree only to
    float32 rounding.
    """

    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    adam_eps: float = Field(1e-7, gt=0)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    max_epochs: int = Field(200, ge=1)
    patience: int = Field(5, ge=1)
    restore_best: Literal["always", "keras"] = "always"
    sampler: Literal["blocks", "random"] = "blocks"
    eval_batch_size: int = Field(256, ge=1)
    num_threads: int | None = Field(None, ge=1)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_clip: float | None = Field(None, gt=0)
    validate_start: bool = False
    device: DeviceName = "cpu"
    progress: bool = True
    resume: bool = True
