"""The perturbation engine: many perturbed predictions, each distinct perturbed day encoded once.

Perturbations are spatial masks added (with a sign) to chosen channels of every input day of the
look-back window (METHODS.md section 5.1). Two ways to draw them:

* ``mask_mode="shared"``: the same masks for every target day. A perturbed copy of the whole
  record is built per mask, each of its days goes through the CNN once, and every target's window
  is gathered from those cached features: ``M x D`` CNN calls instead of ``M x T x L``.
* ``mask_mode="per_day"`` (published): new masks per target day. Each target's perturbed window
  is unique, so the engine only batches many masks into one forward.

``reference=True`` runs the same perturbations through the plain per-window ``forward`` in
batches of 64 windows (as the published code), for tests and benchmarks. Any
:class:`~hydrointerp.predictor.Predictor` works: the CNN-LSTM networks of a single model or an
ensemble (every member kept apart, routed to its stations by the contract's network groups) go
through the fast path; a predictor with other networks or none (the virtual region's simulator)
through its ``predict_block``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from hydrointerp.errors import ConfigError, DataError
from hydrointerp.experiments.masks import MaskSet
from hydrointerp.models.cnn_lstm import CNNLSTM
from hydrointerp.predictor import Predictor, networks

REDUCTIONS = ("time", "member")


class PerturbationEngine:
    """Perturbed predictions of a predictor on a block of normalised input days.

    Parameters
    ----------
    predictor
        Any Predictor (a CNNLSTM, an Ensemble, the simulator...).
    frames
        ``[D, H, W, C]`` normalised input days.
    lookback
        Window length (default: the predictor's).
    start
        Date of ``frames[0]`` (passed to predictors that need it, e.g. the simulator).
    reference
        Use the plain per-window forward (slow; for checks).
    mask_chunk
        Perturbed copies predicted per call (memory bound of the fast path).
    encode_chunk, lstm_chunk
        Days per CNN call and windows per LSTM call of the CNN-LSTM fast path.
    """

    def __init__(
        self,
        predictor: Predictor,
        frames: np.ndarray | torch.Tensor,
        lookback: int | None = None,
        start: pd.Timestamp | None = None,
        reference: bool = False,
        mask_chunk: int = 10,
        encode_chunk: int = 128,
        lstm_chunk: int = 1024,
        window_batch: int = 64,
    ) -> None:
        self.predictor = predictor
        self.frames = torch.as_tensor(np.asarray(frames, dtype=np.float32))
        if self.frames.ndim != 4 or not torch.isfinite(self.frames).all():
            raise DataError(
                "engine frames must be finite [day, lat, lon, channel]",
                variable="frames",
                expected="finite 4-D array",
                found=tuple(self.frames.shape),
            )
        self.lookback = int(lookback if lookback is not None else predictor.lookback)
        self.start = start
        self.reference = bool(reference)
        self.mask_chunk = int(mask_chunk)
        self.encode_chunk = int(encode_chunk)
        self.lstm_chunk = int(lstm_chunk)
        self.window_batch = int(window_batch)
        #: the ensemble members this engine evaluates (None: all; see for_members)
        self.member_range: tuple[int, int] | None = None

    # ------------------------------------------------------------------ prediction
    def _models(self) -> list[tuple[CNNLSTM, torch.Tensor, int]]:
        """(network, its station positions, member) for the fast path: every network of the
        predictor when all are CNN-LSTMs (the per-day encoding is theirs), else none."""
        nets = networks(self.predictor)
        if not nets or not all(isinstance(m, CNNLSTM) for m, _, _ in nets):
            return []
        lo, hi = self.member_range or (0, 1 + max(i for _, _, i in nets))
        return [(m, torch.from_numpy(idx), i - lo) for m, idx, i in nets if lo <= i < hi]

    def for_members(self, lo: int, hi: int) -> PerturbationEngine:
        """The same engine on ensemble members ``lo .. hi - 1`` only (numbered from 0); a
        predictor without networks has the one member ``(0, 1)``."""
        if not 0 <= lo < hi <= self.n_members:
            raise ConfigError(f"members {lo}..{hi - 1} not in 0..{self.n_members - 1}")
        out = copy.copy(self)
        out.member_range = (lo, hi) if self._models() else None
        return out

    @property
    def n_members(self) -> int:
        """Members whose outputs are kept apart (1 for a predictor outside the fast path)."""
        models = self._models()
        return 1 + max(i for _, _, i in models) if models else 1

    @property
    def n_stations(self) -> int:
        """Output stations."""
        return len(self.predictor.station_ids)

    @torch.inference_mode()
    def _fast_model(self, model: CNNLSTM, x: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
        """``x[P, D, H, W, C] -> [P, T, n_out]``: encode each day once, gather windows."""
        model.eval()
        p, d = x.shape[:2]
        lo = int(targets.min()) - self.lookback
        hi = int(targets.max())
        x = x[:, lo:hi].to(model.device)
        days = x.reshape(-1, *x.shape[2:])
        feats = torch.cat([model.encode_days(c) for c in days.split(self.encode_chunk)])
        feats = feats.reshape(p, hi - lo, -1)
        first = torch.as_tensor(targets - lo - self.lookback)
        return model.predict_windows(feats, first, self.lookback, self.lstm_chunk).cpu()

    @torch.inference_mode()
    def _reference_model(
        self, model: CNNLSTM, x: torch.Tensor, targets: np.ndarray
    ) -> torch.Tensor:
        """Same as :meth:`_fast_model` through the plain per-window ``forward``."""
        model.eval()
        p = x.shape[0]
        wins = [(i, t) for t in targets for i in range(p)]
        outs = []
        for k in range(0, len(wins), self.window_batch):
            batch = torch.stack(
                [x[i, t - self.lookback : t] for i, t in wins[k : k + self.window_batch]]
            )
            outs.append(model(batch.to(model.device)).cpu())
        out = torch.cat(outs).reshape(len(targets), p, -1)
        return out.transpose(0, 1)

    def predict(self, x: torch.Tensor, targets: np.ndarray, offset: int = 0) -> torch.Tensor:
        """Every member's prediction ``[R, P, T, S]`` for perturbed copies ``x[P, D, H, W, C]``.

        ``offset`` is the index of ``x[:, 0]`` in the engine's frames (for date-aware predictors).
        """
        targets = np.asarray(targets, dtype=np.int64)
        models = self._models()
        if not models:
            return self._predict_other(x, targets, offset)[None]
        run = self._reference_model if self.reference else self._fast_model
        out = torch.full((self.n_members, x.shape[0], len(targets), self.n_stations), torch.nan)
        for model, idx, member in models:
            out[member][..., idx] = run(model, x, targets)
        return out

    def _predict_other(self, x: torch.Tensor, targets: np.ndarray, offset: int = 0) -> torch.Tensor:
        fn = self.predictor.predict_block
        kwargs = {}
        if self.start is not None and "block_start" in inspect.signature(fn).parameters:
            kwargs["block_start"] = self.start + pd.Timedelta(days=offset)
        if self.reference:
            outs = [
                fn(
                    x[:, t - self.lookback : t],
                    [self.lookback],
                    **_shift(kwargs, t - self.lookback),
                )
                for t in targets
            ]
            return torch.cat([torch.as_tensor(o) for o in outs], dim=1)
        return torch.as_tensor(fn(x, targets, **kwargs))

    def baseline(self, targets: Sequence[int]) -> torch.Tensor:
        """Unperturbed predictions ``[R, T, S]``."""
        return self.predict(self.frames[None], np.asarray(targets))[:, 0]

    # ------------------------------------------------------------------ perturbations
    def perturbed(
        self,
        masks: MaskSet,
        g: int,
        m: slice,
        channels: Sequence[int],
        lo: int = 0,
        hi: int | None = None,
    ) -> torch.Tensor:
        """Perturbed copies ``[m, hi - lo, H, W, C]`` of frames ``lo:hi`` for masks ``m``."""
        w = torch.from_numpy(masks.weights[g, m] * masks.signs[g, m][:, None, None])
        base = self.frames[lo:hi]
        delta = torch.zeros(w.shape[0], 1, *base.shape[1:])
        delta[..., list(channels)] = w[:, None, :, :, None]
        return base[None] + delta

    def responses(
        self,
        targets: Sequence[int],
        masks: MaskSet,
        channels: Sequence[int] = (0, 1, 2),
        y0: torch.Tensor | None = None,
    ) -> Iterator[tuple[slice, torch.Tensor]]:
        """Yield ``(mask slice, |y0 - y_i|[R, m, T, S])`` chunk by chunk.

        With shared masks every chunk covers all targets; with per-day masks (one group per
        target) the engine walks target by target and yields ``T = 1`` blocks in target order.
        """
        targets = np.asarray(targets, dtype=np.int64)
        y0 = self.baseline(targets) if y0 is None else y0
        if masks.shared:
            # the networks read only the targets' windows: perturb just those days
            lo, hi = (
                (int(targets.min()) - self.lookback, int(targets.max()))
                if self._models()
                else (0, None)
            )
            for m in _chunks(masks.n_masks, self.mask_chunk):
                x = self.perturbed(masks, 0, m, channels, lo, hi)
                y = self.predict(x, targets - lo, offset=lo)
                yield m, (y - y0[:, None]).abs()
            return
        if masks.weights.shape[0] != len(targets):
            raise ConfigError(
                f"per-day masks need one group per target day: {masks.weights.shape[0]} groups"
                f" for {len(targets)} targets"
            )
        for k, t in enumerate(targets):
            lo = int(t) - self.lookback
            for m in _chunks(masks.n_masks, self.mask_chunk):
                x = self.perturbed(masks, k, m, channels, lo, int(t))
                y = self.predict(x, np.asarray([self.lookback]), offset=lo)
                yield (
                    slice(k * masks.n_masks + m.start, k * masks.n_masks + m.stop),
                    (y - y0[:, None, k : k + 1]).abs(),
                )

    def day_responses(
        self, targets: Sequence[int], masks: MaskSet, channels: Sequence[int] = (0, 1, 2)
    ) -> torch.Tensor:
        """``|y0 - y_i|`` of every target day, member, mask and station: ``[T, R, M, S]``.

        A day's numbers depend on that day and its masks only, never on the other ``targets``
        (the day blocks of :mod:`hydrointerp.experiments.sweep_tasks` rely on it).
        """
        targets = np.asarray(targets, dtype=np.int64)
        n = masks.n_masks
        out = torch.zeros(len(targets), self.n_members, n, self.n_stations)
        if not len(targets):
            return out
        for m, dy in self.responses(targets, masks, channels):
            if masks.shared:
                out[:, :, m] = dy.permute(2, 0, 1, 3)
            else:
                k = m.start // n
                out[k, :, m.start - k * n : m.stop - k * n] = dy[:, :, 0]
        return out

    def weighted_response(
        self,
        targets: Sequence[int],
        masks: MaskSet,
        channels: Sequence[int] = (0, 1, 2),
        reduce: str = "time",
        progress: object | None = None,
    ) -> torch.Tensor:
        """``sum_i |y0 - y_i| p_i``: the RISE-style mask-weighted response (not yet averaged).

        Parameters
        ----------
        reduce
            ``"time"``: summed over target days, members kept: ``[R, S, H, W]``.
            ``"member"``: averaged over members, days kept: ``[T, S, H, W]``.
        progress
            A tqdm bar updated by the number of masks done.
        """
        if reduce not in REDUCTIONS:
            raise ConfigError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        targets = np.asarray(targets, dtype=np.int64)
        if not masks.shared and masks.weights.shape[0] != len(targets):
            raise ConfigError(
                f"per-day masks need one group per target day: {masks.weights.shape[0]} groups"
                f" for {len(targets)} targets"
            )
        dy = self.day_responses(targets, masks, channels)
        if progress is not None:
            progress.update(masks.n_masks * (1 if masks.shared else len(targets)))  # type: ignore[attr-defined]
        return weigh(dy, masks, reduce)


def weigh(dy: torch.Tensor, masks: MaskSet, reduce: str) -> torch.Tensor:
    """Mask-weighted responses ``sum_i dy_i p_i`` (float64) of ``dy[T, R, M, S]``
    (:meth:`PerturbationEngine.day_responses`).

    ``reduce="time"``: summed over the days, members kept, ``[R, S, H, W]``; ``"member"``: the
    member mean per day, ``[T, S, H, W]``. The sums run over whole arrays in a fixed order, so
    the result is a function of ``dy`` and the masks alone (however ``dy`` was computed).
    """
    t, r, n, s = dy.shape
    h, w = masks.weights.shape[2:]
    p = torch.from_numpy(masks.weights).double().reshape(masks.weights.shape[0], n, h * w)
    if reduce == "time":
        out = torch.zeros(r, s, h * w, dtype=torch.float64)
        for member in range(r):
            if masks.shared:
                a = dy[:, member].double().sum(dim=0)  # [M, S]
                out[member] = a.T.contiguous() @ p[0]
            else:
                a = dy[:, member].double().reshape(t * n, s)
                out[member] = a.T.contiguous() @ p.reshape(t * n, h * w)
        return out.reshape(r, s, h, w)
    out = torch.zeros(t, s, h * w, dtype=torch.float64)
    for day in range(t):
        a = dy[day].double().mean(dim=0)  # [M, S]
        out[day] = a.T.contiguous() @ p[0 if masks.shared else day]
    return out.reshape(t, s, h, w)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for a in range(0, n, max(1, size)):
        yield slice(a, min(n, a + size))


def _shift(kwargs: dict, days: int) -> dict:
    if "block_start" in kwargs:
        return {"block_start": kwargs["block_start"] + pd.Timedelta(days=days)}
    return kwargs
