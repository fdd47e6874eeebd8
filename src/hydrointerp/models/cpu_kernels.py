"""Compiled CPU kernels (``cpu_kernels.c``), built from C with the system compiler on first use.

Three places where PyTorch's general operations leave most of the time on the table:

* the window LSTM's cell step (:mod:`~hydrointerp.models.window_lstm`): about ten element-wise
  PyTorch operations per step become one pass after the BLAS product (gather of the cached input
  projections, four gate sigmoids, cell and hidden update);
* the training LSTM (:mod:`~hydrointerp.models.compiled_lstm`): forward and backward through
  time, whole windows per thread, no per-step library calls;
* the backward pass of the last convolution before the global max-pool
  (:mod:`~hydrointerp.models.max_pooled_conv`), at the maxima only.

All are threaded with the OpenMP runtime PyTorch has already loaded and agree with the PyTorch
operations to float32 rounding (tested). The library is compiled once per machine with ``$CC``,
else ``cc``, ``gcc`` or ``clang`` (``-O3 -march=native -fopenmp``, without OpenMP if the compiler
lacks it) into ``$HYDROINTERP_CACHE`` (default ``~/.cache/hydrointerp``); the file name carries a
hash of the source, flags, compiler, CPU flags and torch version, and is written atomically.
Without a compiler, after a failed build (reported once as a warning) or with
``HYDROINTERP_CPU_KERNELS=0``, the PyTorch operations run instead: same numbers, slower.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import torch

SWITCH_ENV = "HYDROINTERP_CPU_KERNELS"
CACHE_ENV = "HYDROINTERP_CACHE"
_BASE_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared")


#: cells (windows x units) of an inference step below which the step runs on one thread
PARALLEL_CELLS = 16384


class CpuKernels:
    """The loaded library: one method per kernel, taking and filling contiguous CPU tensors."""

    def __init__(self, library: Path) -> None:
        self.library = library
        lib = ctypes.CDLL(str(library))
        p, i, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32
        self._step = _declare(lib.lstm_cell_step, [p, p, p, i, i, i, p, p, i32])
        self._forward = _declare(lib.lstm_train_forward, [p, p, i, i, i, p, p, p, p, i32])
        self._backward = _declare(lib.lstm_train_backward, [p, p, p, p, p, i, i, i, p, p, i32])
        self._max_conv = _declare(
            lib.max_conv_backward, [p, p, p, p, i, i, i, i, i, i, i, p, p, i32]
        )
        self._work_floats = lib.lstm_train_work_floats
        self._work_floats.argtypes, self._work_floats.restype = [i], i

    def step(self, gates, x_proj, first, step: int, c, h) -> None:
        """Inference: advance ``c, h [n, u]`` one step in place (see ``lstm_cell_step``).

        A small block (fewer than :data:`PARALLEL_CELLS` cells) runs on one thread: waking the
        others for each of its steps costs more than the step (the numbers are the same).
        """
        n, u = h.shape
        threads = torch.get_num_threads() if n * u >= PARALLEL_CELLS else 1
        self._step(
            gates.data_ptr(), x_proj.data_ptr(), first.data_ptr(), step, n, u,
            c.data_ptr(), h.data_ptr(), threads,
        )  # fmt: skip

    def train_forward(self, x_proj, w_hh_t, act, c, tanh_c, h) -> None:
        """Training: every step of ``x_proj [n, T, 4u]``; fills ``act, c, tanh_c, h``."""
        _check(x_proj, w_hh_t, act, c, tanh_c, h)
        n, steps, _ = x_proj.shape
        self._forward(
            x_proj.data_ptr(), w_hh_t.data_ptr(), steps, n, h.shape[2], act.data_ptr(),
            c.data_ptr(), tanh_c.data_ptr(), h.data_ptr(), torch.get_num_threads(),
        )  # fmt: skip

    def train_backward(self, act, c, tanh_c, w_hh, grad_h, dz) -> None:
        """Training: gate gradients ``dz [n, T, 4u]`` from ``grad_h [n, u]`` (of the last h)."""
        _check(act, c, tanh_c, w_hh, grad_h, dz)
        n, steps, _ = act.shape
        threads = torch.get_num_threads()
        work = torch.empty(threads, self._work_floats(grad_h.shape[1]))
        self._backward(
            act.data_ptr(), c.data_ptr(), tanh_c.data_ptr(), w_hh.data_ptr(), grad_h.data_ptr(),
            steps, n, grad_h.shape[1], dz.data_ptr(), work.data_ptr(), threads,
        )  # fmt: skip

    def max_conv_backward(self, x, weight, where, g):  # noqa: ANN001, ANN201
        """``(dx [n, h, w, ci], dweight [co, kh, kw, ci])`` at the maxima, channels last."""
        _check(x, weight, g)
        if where.dtype != torch.int64 or not where.is_contiguous():
            raise ValueError(
                f"max_conv_backward: 'where' must be contiguous int64, got {where.dtype}"
            )
        n, h, w, ci = x.shape
        co, kh, kw, _ = weight.shape
        threads = torch.get_num_threads()
        dx = torch.zeros_like(x)
        dw = x.new_zeros(threads, co, kh, kw, ci)
        self._max_conv(
            x.data_ptr(), weight.data_ptr(), where.data_ptr(), g.data_ptr(), n, h, w, ci, co, kh,
            kw, dx.data_ptr(), dw.data_ptr(), threads,
        )  # fmt: skip
        return dx, dw.sum(0)


def _check(*tensors: torch.Tensor) -> None:
    """The C code reads raw memory: refuse anything but contiguous float32 on the CPU."""
    for t in tensors:
        if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
            raise ValueError(
                "cpu_kernels: expected contiguous float32 CPU tensors, got "
                f"{t.dtype} on {t.device} (contiguous: {t.is_contiguous()}), "
                f"shape {tuple(t.shape)}"
            )


def _declare(fn, argtypes: list):  # noqa: ANN202
    fn.argtypes = argtypes
    fn.restype = None
    return fn


def cache_dir() -> Path:
    """Folder for compiled kernels: ``$HYDROINTERP_CACHE`` or ``~/.cache/hydrointerp``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "hydrointerp")


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def _cpu_signature() -> str:
    """The CPU's feature flags (``-march=native`` code must not run on another CPU)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() + platform.machine()


def _compile(cc: str, source: Path, flags: tuple[str, ...], target: Path) -> None:
    """Compile ``source`` to ``target`` atomically (a temporary file, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run(
            [cc, *flags, str(source), "-o", tmp], check=True, capture_output=True, text=True
        )
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _build(cc: str) -> Path:
    """Compile (or find in the cache) the kernel library; OpenMP if the compiler offers it."""
    with resources.as_file(resources.files("hydrointerp.models") / "cpu_kernels.c") as source:
        text = source.read_bytes()
        errors = []
        for flags in ((*_BASE_FLAGS, "-fopenmp"), _BASE_FLAGS):
            key = hashlib.sha256(
                text + " ".join((cc, *flags, _cpu_signature(), torch.__version__)).encode()
            ).hexdigest()[:16]
            target = cache_dir() / f"cpu_kernels-{key}.so"
            if target.exists():
                return target
            try:
                _compile(cc, source, flags, target)
                return target
            except subprocess.CalledProcessError as err:
                errors.append(f"{cc} {' '.join(flags)}: {err.stderr.strip()}")
        raise RuntimeError("\n".join(errors))


@functools.cache
def cpu_kernels() -> CpuKernels | None:
    """The compiled kernel, or ``None`` (switched off, no compiler, or the build failed)."""
    if os.environ.get(SWITCH_ENV, "1") == "0":
        return None
    cc = _compiler()
    if cc is None:
        return None
    try:
        return CpuKernels(_build(cc))
    except (RuntimeError, OSError) as err:
        warnings.warn(
            f"the compiled CPU kernels could not be built ({err}); using PyTorch operations "
            f"(same results, slower). Set {SWITCH_ENV}=0 to silence this.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
