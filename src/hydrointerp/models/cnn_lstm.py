"""The published CNN-LSTM (Anderson & Radic 2022) in PyTorch, with a fast overlapping-window path.

The time-distributed CNN encodes each daily frame to a feature vector; an LSTM runs over the
look-back window; a dense head maps the last hidden state to every station. Because the CNN sees
one day at a time, a year of overlapping windows needs each distinct day encoded only once
(:meth:`CNNLSTM.predict_block`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from hydrointerp.errors import ConfigError, ModelFormatError
from hydrointerp.models.compiled_lstm import compiled_applies, compiled_last_hidden
from hydrointerp.models.max_pooled_conv import max_pooled_conv, max_pooled_conv_applies
from hydrointerp.models.window_lstm import window_last_hidden
from hydrointerp.predictor import NetworkGroup, single_network
from hydrointerp.published import LOOKBACK


class Architecture(BaseModel):
    """Sizes of every layer. Defaults are the published bulk model (METHODS.md section 2.1).

    ``conv_filters[i]`` filters of ``conv_kernels[i]`` x ``conv_kernels[i]`` (ReLU, same padding);
    a 2x2 max-pool follows conv layer ``pool_after`` (0-based); then a global max-pool,
    dropout, an LSTM and a linear dense head of ``n_out`` units.

    ``spatial_pool``: ``None`` (published) pools each filter to one number over the whole grid,
    so the features say *what* weather pattern occurs but not *where*; ``(rows, cols)`` instead
    max-pools to that coarse grid and flattens it (``filters * rows * cols`` features), which
    keeps location: useful for a region whose basins respond to different parts of the grid.
    ``day_features``: ``None`` (published) feeds the pooled features to the LSTM; an integer
    adds a linear layer per day that compresses them to that many features first. It is computed
    once per distinct day, whereas the LSTM's input weights act on every window-step, so a
    location-keeping model stays as cheap to train as the published one.

    A run config's ``ensemble.model`` section holds these fields except :data:`FROM_DATA`, which
    the training stage takes from the region (:meth:`for_region`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_out: int = Field(226, ge=1, description="outputs of the dense head: one per station")
    in_channels: int = Field(3, ge=1, description="weather channels per pixel (tmax, tmin, precip)")
    conv_filters: tuple[int, ...] = Field(
        (32, 16, 16, 32, 32), description="filters of each conv layer (count)"
    )
    conv_kernels: tuple[int, ...] = Field(
        (1, 3, 3, 3, 3), description="square kernel side of each conv layer (pixels)"
    )
    pool_after: int = Field(
        2, description="0-based conv layer followed by the 2x2 max-pool (-1 or past the end: none)"
    )
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout rate before the LSTM (fraction)")
    lstm_units: int = Field(80, ge=1, description="LSTM hidden units (count)")
    spatial_pool: tuple[int, int] | None = Field(
        None, description="coarse (rows, cols) grid of the final max-pool; None: global (published)"
    )
    day_features: int | None = Field(
        None, ge=1, description="per-day linear projection size (features); None: none (published)"
    )

    #: fields that come from the region rather than from a run config
    FROM_DATA: ClassVar[tuple[str, ...]] = ("n_out", "in_channels")

    @model_validator(mode="after")
    def _check(self) -> Architecture:
        if len(self.conv_filters) != len(self.conv_kernels):
            raise ValueError("conv_filters and conv_kernels must have the same length")
        return self

    @classmethod
    def for_region(
        cls, settings: Mapping[str, Any], n_out: int, in_channels: int = 3
    ) -> Architecture:
        """The architecture of a run config's ``ensemble.model`` settings for a region with
        ``n_out`` stations and ``in_channels`` weather channels.

        Raises
        ------
        ConfigError
            When ``settings`` names a field of :data:`FROM_DATA`.
        ValidationError
            An unknown key or an invalid value (pydantic, naming the key).
        """
        given = [k for k in cls.FROM_DATA if k in settings]
        if given:
            key = given[0]
            raise ConfigError(
                f"ensemble.model.{key} is taken from the region (its stations and weather"
                f" channels); expected: no {key} in ensemble.model; found: {settings[key]}"
            )
        return cls(n_out=n_out, in_channels=in_channels, **settings)

    def with_outputs(self, n_out: int) -> Architecture:
        """The same layers with a head of ``n_out`` units (a cluster's fine-tune)."""
        return self.model_validate({**self.model_dump(), "n_out": int(n_out)})

    def to_dict(self) -> dict:
        """Plain dict for JSON/YAML (tuples as lists)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`to_dict`; also reads files saved with the retired, always empty
        ``extra`` entry."""
        d = dict(d)
        if d.pop("extra", None):
            raise ModelFormatError(f"architecture has a non-empty 'extra' entry: {d}")
        return cls.model_validate(d)


#: blocks that :meth:`CNNLSTM.reset_parameters_keras` can re-initialise
INIT_PARTS = ("cnn", "lstm", "head")


class CNNLSTM(nn.Module):
    """Time-distributed CNN + LSTM + dense head.

    Input ``x[B, T, H, W, C]`` (channels last, as the published data); output ``y[B, n_out]``.

    A single network is a :class:`~hydrointerp.predictor.Predictor` of stations ``"0"``,
    ``"1"``, ... with windows of ``lookback`` days (365, as published; set the attribute for a
    network trained on other windows).
    """

    def __init__(self, arch: Architecture | None = None, **kwargs: object) -> None:
        super().__init__()
        self.arch = arch if arch is not None else Architecture(**kwargs)  # type: ignore[arg-type]
        a = self.arch
        layers: list[nn.Module] = []
        c_in = a.in_channels
        for i, (f, k) in enumerate(zip(a.conv_filters, a.conv_kernels, strict=True)):
            # in-place ReLU halves the CNN's time (no extra activation buffer per layer)
            layers += [nn.Conv2d(c_in, f, k, padding=k // 2), nn.ReLU(inplace=True)]
            if i == a.pool_after:
                layers.append(nn.MaxPool2d(2))
            c_in = f
        self.cnn = nn.Sequential(*layers)
        pool = a.spatial_pool
        pooled = c_in if pool is None else c_in * pool[0] * pool[1]
        self.day_proj = None if a.day_features is None else nn.Linear(pooled, a.day_features)
        self.n_features = pooled if a.day_features is None else a.day_features
        self.dropout = nn.Dropout(a.dropout)
        self.lstm = nn.LSTM(self.n_features, a.lstm_units, batch_first=True)
        self.head = nn.Linear(a.lstm_units, a.n_out)
        self.provenance: dict = {}
        self.lookback = LOOKBACK
        self.reset_parameters_keras()

    # ----------------------------------------------------------------- initialisation
    def reset_parameters_keras(self, parts: tuple[str, ...] = INIT_PARTS) -> None:
        """Keras defaults: Glorot-uniform kernels, zero biases, orthogonal recurrent kernel,
        forget-gate bias 1 (``unit_forget_bias``).

        ``parts`` re-initialises only some blocks (``"cnn"``, ``"lstm"`` with the day
        projection, ``"head"``): the model-parameter randomisation test of the fidelity stage.
        """
        unknown = set(parts) - set(INIT_PARTS)
        if unknown:
            raise ModelFormatError(f"unknown parts {sorted(unknown)}; known: {INIT_PARTS}")
        if "cnn" in parts:
            for m in self.cnn:
                if isinstance(m, nn.Conv2d):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)
        if "lstm" in parts:  # the draws keep the order of the first version (same weights)
            self._reset_lstm_keras()
        if "head" in parts:
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        if "lstm" in parts and self.day_proj is not None:
            nn.init.xavier_uniform_(self.day_proj.weight)
            nn.init.zeros_(self.day_proj.bias)

    def _reset_lstm_keras(self) -> None:
        u = self.arch.lstm_units
        # Keras draws one Glorot matrix over the whole (in, 4u) kernel; the bound matches that.
        bound = float(np.sqrt(6.0 / (self.n_features + 4 * u)))
        nn.init.uniform_(self.lstm.weight_ih_l0, -bound, bound)
        w_hh = torch.empty(u, 4 * u)
        nn.init.orthogonal_(w_hh)
        with torch.no_grad():
            self.lstm.weight_hh_l0.copy_(w_hh.T)
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[u : 2 * u] = 1.0

    # ----------------------------------------------------------------- building blocks
    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.head.weight.device

    # ----------------------------------------------------------------- Predictor contract
    @property
    def station_ids(self) -> tuple[str, ...]:
        """Output positions as station ids: ``"0"``, ``"1"``, ..."""
        return tuple(str(i) for i in range(self.arch.n_out))

    def network_groups(self) -> tuple[NetworkGroup, ...]:
        """One group of one member, this network, over all its outputs."""
        return single_network(self, self.station_ids)

    def first_members(self, n: int) -> CNNLSTM:
        """A single network is its own first member."""
        return self

    def encode_days(self, frames: torch.Tensor) -> torch.Tensor:
        """The time-distributed CNN alone: ``frames[D, H, W, C] -> features[D, F]``.

        When gradients are needed, the published global max-pool's last convolution takes its
        backward pass at the maxima only (:mod:`~hydrointerp.models.max_pooled_conv`).
        """
        x = frames.permute(0, 3, 1, 2)
        if self._pool_at_maxima(x):
            feats = max_pooled_conv(self.cnn[-2], self.cnn[:-2](x))
        elif self.arch.spatial_pool is None:
            feats = torch.amax(self.cnn(x), dim=(2, 3))
        else:
            feats = nn.functional.adaptive_max_pool2d(self.cnn(x), self.arch.spatial_pool)
            feats = feats.flatten(1)
        return feats if self.day_proj is None else self.day_proj(feats)

    def _pool_at_maxima(self, x: torch.Tensor) -> bool:
        return (
            torch.is_grad_enabled()
            and self.arch.spatial_pool is None
            and isinstance(self.cnn[-1], nn.ReLU)
            and max_pooled_conv_applies(self.cnn[-2], x)
        )

    def run_lstm(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the LSTM step by step from zero state.

        Returns ``(h_seq[B, T, U], c_seq[B, T, U])``: every step's hidden and cell state.
        """
        b, t, _ = features.shape
        u = self.arch.lstm_units
        w_ih, w_hh = self.lstm.weight_ih_l0, self.lstm.weight_hh_l0
        bias = self.lstm.bias_ih_l0 + self.lstm.bias_hh_l0
        x_proj = features @ w_ih.T + bias
        h = features.new_zeros(b, u)
        c = features.new_zeros(b, u)
        hs, cs = [], []
        for step in range(t):
            gates = x_proj[:, step] + h @ w_hh.T
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def last_hidden(self, features: torch.Tensor) -> torch.Tensor:
        """Last hidden state of the LSTM over ``features[B, T, F]``.

        When gradients are needed on the CPU and the compiled kernel is available, forward and
        backward run in C (:mod:`~hydrointerp.models.compiled_lstm`); otherwise ``nn.LSTM``
        (oneDNN on CPU, cuDNN on GPU). Both agree to float32 rounding.
        """
        if torch.is_grad_enabled() and compiled_applies(self.lstm, features):
            return compiled_last_hidden(self.lstm, features)
        _, (h, _) = self.lstm(features)
        return h[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, T, H, W, C] -> y[B, n_out]`` (the plain per-window path)."""
        b, t = x.shape[:2]
        feats = self.encode_days(x.reshape(b * t, *x.shape[2:])).reshape(b, t, -1)
        return self.head(self.last_hidden(self.dropout(feats)))

    # ----------------------------------------------------------------- fast inference
    @torch.inference_mode()
    def predict_windows(
        self, feats: torch.Tensor, first_days: torch.Tensor, lookback: int, chunk: int = 1024
    ) -> torch.Tensor:
        """Head output ``[P, N, n_out]`` for windows of cached day features ``feats[P, D, F]``.

        Window ``n`` covers days ``first_days[n] : first_days[n] + lookback`` (see
        :func:`~hydrointerp.models.window_lstm.window_last_hidden`).
        """
        self.eval()
        hidden = window_last_hidden(self.lstm, feats, first_days, lookback, chunk)
        return rowwise_linear(self.head, hidden)

    @torch.inference_mode()
    def predict_block(
        self,
        frames: torch.Tensor | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        lookback: int | None = None,
        chunk: int = 1024,
        encode_chunk: int = 128,
    ) -> torch.Tensor:
        """Predict many overlapping windows, encoding each distinct day once.

        Parameters
        ----------
        frames
            ``[D, H, W, C]`` or ``[P, D, H, W, C]`` (P perturbed copies) of normalised input days.
        targets
            Target indices ``t`` with ``lookback <= t <= D``; the window for ``t`` is
            ``frames[..., t - lookback : t, :, :, :]`` (the days before the target).
        lookback
            Window length in days (default: the network's ``lookback``).
        chunk
            Windows per LSTM call (memory bound).
        encode_chunk
            Days per CNN call (bounds the memory of the conv activations for many copies).

        Returns
        -------
        torch.Tensor
            ``[len(targets), n_out]`` or ``[P, len(targets), n_out]`` on the CPU.
        """
        self.eval()
        lookback = self.lookback if lookback is None else int(lookback)
        x = torch.as_tensor(frames, dtype=torch.float32)
        single = x.ndim == 4
        if single:
            x = x[None]
        p, d = x.shape[:2]
        t = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        if t.numel() and (int(t.min()) < lookback or int(t.max()) > d):
            found = f"{int(t.min())}..{int(t.max())}"
            raise ValueError(f"targets must lie in [{lookback}, {d}], got {found}")
        flat_days = x.reshape(p * d, *x.shape[2:])
        feats = torch.cat(
            [self.encode_days(c.to(self.device)) for c in flat_days.split(encode_chunk)]
            or [self.encode_days(flat_days.to(self.device))]
        ).reshape(p, d, self.n_features)
        out = self.predict_windows(feats, t - lookback, lookback, chunk)
        out = out.cpu()
        return out[0] if single else out


def rowwise_linear(layer: nn.Linear, x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """``layer(x)`` with every row computed alone: the same numbers for a window whatever the
    other windows of the call (a BLAS matmul takes another kernel for a few rows, which changes
    the last bit). Used by the fast inference path, so that an experiment's day blocks give
    bit-identical predictions (:mod:`hydrointerp.experiments.tasks`)."""
    w = layer.weight
    flat = x.reshape(-1, x.shape[-1])
    out = [(c[:, None, :] * w[None]).sum(-1) for c in flat.split(max(1, chunk))]
    y = torch.cat(out) if out else flat.new_zeros(0, w.shape[0])
    if layer.bias is not None:
        y = y + layer.bias
    return y.reshape(*x.shape[:-1], w.shape[0])
