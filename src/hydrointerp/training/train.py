"""Train one ensemble member (seeded, deterministic, resumable).

:func:`train_member` is a plain function of ``(windows, settings, seed, out_dir)`` so ensemble
members and fine-tunes can be fanned out (e.g. on Dask). Every epoch it writes a checkpoint
(atomic) with the model, optimiser, RNG states, early-stopping state and log; re-running the same
call after an interruption resumes from it and ends with bit-identical weights (CPU).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from hydrointerp.atomic import atomic_path, write_text
from hydrointerp.data.windows import Windows
from hydrointerp.errors import ConfigError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture
from hydrointerp.models.saved import save_model
from hydrointerp.training.batches import batch_forward, epoch_batches, evaluate_loss, masked_mse
from hydrointerp.training.config import TrainSettings

EpochCallback = Callable[[int, "EarlyStopState"], None]


@dataclass
class EarlyStopState:
    """Early stopping on validation loss (Keras ``EarlyStopping(patience, mode='min')``)."""

    epoch: int = 0
    best_val: float = float("inf")
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped: bool = False
    finished: bool = False
    history: list[dict] = field(default_factory=list)

    def update(self, val_loss: float, patience: int) -> bool:
        """Record an epoch's validation loss; True when it is the best so far."""
        improved = val_loss < self.best_val
        if improved:
            self.best_val, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
        else:
            self.bad_epochs += 1
            self.stopped = self.bad_epochs >= patience
        return improved


def _set_threads(settings: TrainSettings) -> None:
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)


def build_model(arch: Architecture, seed: int) -> CNNLSTM:
    """A freshly initialised (Keras-like) model; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return CNNLSTM(arch)


def _checkpoint_path(out_dir: Path, name: str) -> Path:
    return out_dir / "checkpoints" / f"{name}.pt"


def _save_checkpoint(path: Path, model, opt, rng, es, best_state) -> None:
    state = {
        "model": model.state_dict(),
        "arch": model.arch.to_dict(),
        "optimizer": opt.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": _cuda_rng(model.device),
        "numpy_rng": rng.bit_generator.state,
        "early_stop": asdict(es),
        "best_state": best_state,
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _cuda_rng(device: torch.device) -> torch.Tensor | None:
    """The CUDA generator's state (dropout on the GPU draws from it), or None on the CPU."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _load_checkpoint(path: Path, model, opt, rng) -> tuple[EarlyStopState, dict]:
    state = torch.load(path, weights_only=False, map_location=model.device)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"].cpu())
    if state.get("cuda_rng") is not None and model.device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), model.device)
    rng.bit_generator.state = state["numpy_rng"]
    return EarlyStopState(**state["early_stop"]), state["best_state"]


def _train_epoch(
    model, opt, windows: Windows, batches, progress: tqdm | None, grad_clip: float | None = None
) -> float:
    model.train()
    sse, count = 0.0, 0
    for b in batches:
        t = torch.from_numpy(b)
        pred = batch_forward(model, windows.frames, t, windows.lookback)
        loss, n = masked_mse(pred, windows.targets[t].to(pred.device))
        opt.zero_grad(set_to_none=True)
        if n:
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
        sse += float(loss.detach()) * n
        count += n
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{sse / max(count, 1):.4f}")
    return sse / count if count else float("nan")


def _check_splits(windows: Windows) -> None:
    for split in ("train", "val"):
        if len(windows.splits.get(split, ())) == 0:
            raise ConfigError(
                f"the {split} split has no complete look-back window; check the split years and "
                f"lookback={windows.lookback} against the record "
                f"{windows.dates[0].date()}..{windows.dates[-1].date()}"
            )


def train_member(
    windows: Windows,
    settings: TrainSettings,
    seed: int,
    out_dir: str | os.PathLike[str],
    *,
    arch: Architecture | None = None,
    init_model: CNNLSTM | None = None,
    name: str | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> Path:
    """Train one member and save it as ``out_dir/models/<name>.pt``; return that path.

    Parameters
    ----------
    windows
        Normalised frames, targets and splits (:func:`~hydrointerp.data.windows.make_windows`).
    settings
        Optimisation settings (published defaults).
    seed
        Seeds the initial weights (unless ``init_model``), the batch order and dropout.
    out_dir
        Run directory: ``checkpoints/<name>.pt``, ``models/<name>.pt``, ``train_log_<name>.csv``.
    arch
        Architecture for a fresh model (default: the published one with one output per station).
    init_model
        Start from these weights instead (fine-tuning); its head must match the stations.
    name
        Member name (default ``member_<seed>``).
    on_epoch_end
        Called after each epoch's checkpoint is written (e.g. to stop or report).

    Returns
    -------
    Path
        The saved model file.
    """
    _set_threads(settings)
    _check_splits(windows)
    out = Path(out_dir)
    name = name or f"member_{seed}"
    if init_model is not None:
        model = copy.deepcopy(init_model).cpu()
        torch.manual_seed(seed)
    else:
        model = build_model(arch or Architecture(n_out=windows.n_stations), seed)
    model = model.to(settings.device)
    if model.arch.n_out != windows.n_stations:
        raise ConfigError(f"model has {model.arch.n_out} outputs, windows {windows.n_stations}")
    opt = torch.optim.Adam(
        model.parameters(),
        lr=settings.learning_rate,
        betas=settings.adam_betas,
        eps=settings.adam_eps,
    )
    rng = np.random.default_rng(seed)
    ckpt = _checkpoint_path(out, name)
    es, best_state = EarlyStopState(), copy.deepcopy(model.state_dict())
    if settings.resume and ckpt.is_file():
        es, best_state = _load_checkpoint(ckpt, model, opt, rng)
        # a raised epoch limit continues a run that had only reached the old limit
        es.finished = es.stopped or es.epoch >= settings.max_epochs
    if not es.finished:
        es, best_state = _fit(
            model, opt, rng, windows, settings, es, best_state, ckpt, name, on_epoch_end
        )
    if settings.restore_best == "always" or es.stopped:
        model.load_state_dict(best_state)
    write_log(es.history, out / f"train_log_{name}.csv")
    return save_member(model, out / "models" / f"{name}.pt", windows, seed, es)


def epoch_learning_rate(settings: TrainSettings, epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` (a function of the epoch alone, so resume is exact)."""
    if settings.lr_schedule == "cosine":
        return (
            settings.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / settings.max_epochs))
        )
    return settings.learning_rate


def _val_loss(model: CNNLSTM, windows: Windows, settings: TrainSettings) -> float:
    return evaluate_loss(
        model,
        windows.frames,
        windows.targets,
        windows.splits["val"],
        windows.lookback,
        settings.eval_batch_size,
    )


def _fit(model, opt, rng, windows, settings, es, best_state, ckpt, name, on_epoch_end):
    n_batches = -(-len(windows.splits["train"]) // settings.batch_size)
    bar = tqdm(
        total=settings.max_epochs,
        initial=es.epoch,
        desc=name,
        unit="epoch",
        disable=not settings.progress,
        leave=False,
    )
    if settings.validate_start and es.epoch == 0 and not es.history:
        es.best_val = _val_loss(model, windows, settings)
        best_state = copy.deepcopy(model.state_dict())
    while es.epoch < settings.max_epochs and not es.stopped:
        start = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = epoch_learning_rate(settings, es.epoch)
        batches = epoch_batches(windows.splits["train"], settings.batch_size, settings.sampler, rng)
        inner = tqdm(
            total=n_batches,
            desc=f"epoch {es.epoch + 1}",
            leave=False,
            disable=not settings.progress,
        )
        train_loss = _train_epoch(model, opt, windows, batches, inner, settings.grad_clip)
        inner.close()
        val_loss = _val_loss(model, windows, settings)
        if es.update(val_loss, settings.patience):
            best_state = copy.deepcopy(model.state_dict())
        es.history.append(
            {
                "epoch": es.epoch + 1,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        es.epoch += 1
        es.finished = es.stopped or es.epoch >= settings.max_epochs
        _save_checkpoint(ckpt, model, opt, rng, es, best_state)
        bar.update(1)
        bar.set_postfix(loss=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if on_epoch_end is not None:
            on_epoch_end(es.epoch, es)
    bar.close()
    return es, best_state


def write_log(history: list[dict], path: Path) -> Path:
    """The per-epoch training log as CSV (atomic)."""
    cols = ["epoch", "train_loss", "val_loss", "seconds"]
    return write_text(path, pd.DataFrame(history, columns=cols).to_csv(index=False))


def save_member(model: CNNLSTM, path: Path, windows: Windows, seed: int, es) -> Path:
    """Save a trained member with its stations, look-back and training provenance."""
    provenance = {
        "seed": int(seed),
        "epochs": int(es.epoch),
        "best_epoch": int(es.best_epoch + 1),
        "best_val_loss": float(es.best_val),
        "stopped_early": bool(es.stopped),
    }
    provenance.update(station_ids=list(windows.station_ids), lookback=int(windows.lookback))
    return save_model(model, path, provenance=provenance)
