"""Kernel backends: our C kernels (``"c"``, the default) and their NumPy reference (``"numpy"``).

Both backends expose the same functions with the same signatures; the reference defines what
correct means. Everything above this package calls the module-level functions below, which
dispatch to the backend in use::

    from dlcore import kernels
    y = kernels.conv2d_forward(x, w, b, stride=(1, 1), padding=(1, 1, 1, 1))
    with kernels.use_backend("numpy"):
        y_ref = kernels.conv2d_forward(x, w, b, stride=(1, 1), padding=(1, 1, 1, 1))

Signatures (arrays are float32; float64 arrays always run on the reference, whatever the
backend, since the C kernels are float32 only; padding is per side,
``(top, bottom, left, right)``; ``stride``/``dilation``/``kernel_size`` are ``(h, w)`` pairs):

- ``gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0)`` ->
  ``alpha * op(a) @ op(b) + beta * c``; written into ``c`` (M, N) when given, else a new array.
- ``conv2d_forward(x, w, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
  groups=1)``: x (N, C, H, W), w (OC, C/groups, KH, KW), bias (OC,) -> y (N, OC, OH, OW).
- ``conv2d_backward(x, w, dy, stride, padding, dilation, groups, need_dx=True, need_dw=True,
  need_db=True)`` -> ``(dx, dw, db)``, ``None`` where not needed.
- ``conv2d_backward_input(dy, w, x_shape, stride, padding, dilation, groups)`` -> dx alone,
  from the shape of x (a transposed convolution's forward pass has no x).
- ``im2col(x, kernel_size, stride, padding, dilation)``: x (C, H, W) -> (C*KH*KW, OH*OW);
  ``col2im(cols, x_shape, kernel_size, stride, padding, dilation)`` its adjoint (sums overlaps).
- ``max_pool2d_forward(x, kernel_size, stride, padding)`` -> ``(y, indices)``; indices int64
  (N, C, OH, OW), the flat ``h * W + w`` of each max in its input plane (PyTorch's convention).
  Padding is symmetric ``(ph, pw)``, at most half the window.
- ``max_pool2d_backward(dy, indices, x_shape)`` -> dx.
- ``avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=True)`` -> y;
  ``avg_pool2d_backward(dy, x_shape, kernel_size, stride, padding, count_include_pad=True)``.
- ``global_avg_pool2d_forward(x)``: (N, C, H, W) -> (N, C);
  ``global_avg_pool2d_backward(dy, x_shape)``.
- ``batch_norm_forward(x, weight=None, bias=None, mean=None, var=None, eps=1e-5,
  training=True)`` -> ``(y, mean, var, inv_std)``: x (N, C, ...) normalised per channel over
  N and the spatial dims, ``y = (x - mean) * inv_std * weight + bias``, ``inv_std =
  1/sqrt(var + eps)``; training computes mean and var (biased) from the batch, evaluation
  takes them (the running statistics; given only then). weight, bias, mean, var (C,).
- ``batch_norm_backward(x, dy, mean, inv_std, weight=None, training=True, need_dx=True,
  need_dweight=True, need_dbias=True)`` -> ``(dx, dweight, dbias)`` from forward's mean and
  inv_std (xhat is recomputed from x), ``None`` where not needed.
- ``softmax_cross_entropy(logits, target, reduction="mean", ignore_index=-100,
  label_smoothing=0.0, need_grad=True)`` -> ``(loss, dlogits)``: logits (N, C), target int64
  (N,); loss is a 0-d array for "mean"/"sum" and (N,) for "none"; dlogits (N, C) is the
  gradient of that loss (for "none", of each row's own loss), ``None`` unless need_grad.
- ``relu_forward(x)`` -> ``max(x, 0)`` (any shape); ``relu_backward(y, dy)`` -> dy where the
  output y > 0, else 0.
- ``leaky_relu_forward(x, negative_slope)`` -> x where x > 0, else ``negative_slope * x``;
  ``leaky_relu_backward(x, dy, negative_slope)`` -> dy where the input x > 0, else
  ``negative_slope * dy``.
- ``add_relu_forward(a, b)`` -> ``max(a + b, 0)``, a and b of one shape (no broadcasting);
  its backward is ``relu_backward(y, dy)``, the gradient of both a and b.
- ``gelu_forward(x)`` -> ``(y, slope)``: GELU ``x Φ(x)`` (the exact, erf form) and its
  derivative ``Φ(x) + x φ(x)``, which the backward pass multiplies by the output gradient.
- ``axpby(x, y, alpha=1.0, beta=1.0)`` -> y, updated in place to ``alpha * x + beta * y`` (y
  C-contiguous and writeable for the C backend; beta == 0 does not read y).
- The pointwise half of one recurrent step (the caller adds ``h_prev W_hhᵀ + b_hh`` by
  ``gemm``), rows (N) of hidden size H, outputs written into the arrays given (C-contiguous
  float32 for the C backend) or new when None:
  ``lstm_cell_forward(gates, c_prev, c=None, h=None)`` -> ``(h, c)``: gates (N, 4H)
  pre-activations [i|f|g|o] replaced by their activations; ``lstm_cell_backward(gates, c_prev,
  c, dh, dc, dgates=None)`` -> ``(dgates, dc)``, dc updated in place from c's gradient to
  c_prev's. ``gru_cell_forward(gx, gh, h_prev, gates=None, h=None)`` -> ``(gates, h)``, gates
  [r|z|n]; ``gru_cell_backward(gates, gh, h_prev, dh, dgx=None, dgh=None, dh_prev=None)`` ->
  ``(dgx, dgh, dh_prev)``, dh_prev = dh·z (the rest of h_prev's gradient is dgh W_hh).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from dlcore import checks

from . import reference

KERNELS = (
    "gemm", "conv2d_forward", "conv2d_backward", "conv2d_backward_input", "im2col", "col2im",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "global_avg_pool2d_forward", "global_avg_pool2d_backward", "batch_norm_forward",
    "batch_norm_backward", "softmax_cross_entropy", "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward", "add_relu_forward", "gelu_forward", "axpby", "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward",
)

# Idle OpenMP threads spin only briefly before they sleep (a tenth of libgomp's default count):
# long enough to bridge the gaps between the kernels of one training step (sleeping outright
# made 2 threads slower than 1 on small products), short enough that on a busy machine they
# soon stop stealing the cores the working threads need. Read when the extension loads libgomp;
# a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins (PASSIVE suits a machine shared with other jobs).
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")

try:
    from . import _c
except ImportError as exc:  # an unbuilt source tree: say so loudly, keep the reference usable
    _c = None
    _C_IMPORT_ERROR = exc
    warnings.warn(
        f"dlcore's C kernels are not built ({exc}); falling back to the slow NumPy reference. "
        "Install with `pip install .` (or `pip install -e .`) to build them.",
        RuntimeWarning, stacklevel=2)

BACKENDS = {"numpy": reference}
if _c is not None:
    BACKENDS["c"] = _c

_backend = BACKENDS["c" if _c is not None else "numpy"]


def get_backend() -> str:
    """Name of the backend in use: ``"c"`` or ``"numpy"``."""
    return next(name for name, mod in BACKENDS.items() if mod is _backend)


class use_backend:
    """Switch backend now; used as a context manager, switch back on exit."""

    def __init__(self, name: str):
        if name not in BACKENDS:
            hint = "" if name != "c" else f" (the C extension failed to import: {_C_IMPORT_ERROR})"
            raise ValueError(f"unknown kernel backend {name!r}; available: "
                             f"{sorted(BACKENDS)}{hint}")
        global _backend
        self._previous, _backend = _backend, BACKENDS[name]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _backend
        _backend = self._previous
        return False


_FLOAT64 = np.dtype(np.float64)


def _float64(args) -> bool:
    """The C kernels are float32 only: float64 calls (gradient checks) run on the reference."""
    return bool(args) and getattr(args[0], "dtype", None) is _FLOAT64


def _axpby_off_c(args) -> bool:
    """Besides float64: C updates ``y`` in place only where it is C-contiguous and of x's dtype,
    so a transposed or float64 parameter given to a float32 gradient runs on the reference."""
    if _float64(args):
        return True
    y = args[1] if len(args) > 1 else None
    return isinstance(y, np.ndarray) and (not y.flags.c_contiguous
                                          or y.dtype != getattr(args[0], "dtype", None))


_OFF_C = {"axpby": _axpby_off_c}


def _dispatcher(name):
    reference_kernel = getattr(reference, name)
    off_c = _OFF_C.get(name, _float64)

    def call(*args, **kwargs):
        if _ENV_ERROR is not None:
            raise ValueError(_ENV_ERROR)
        if off_c(args):
            return reference_kernel(*args, **kwargs)
        return getattr(_backend, name)(*args, **kwargs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{name}`` of the backend in use (see the module docstring)."
    return call


for _name in KERNELS:
    globals()[_name] = _dispatcher(_name)


def set_num_threads(n: int) -> None:
    """Threads used by the C kernels (results do not depend on it)."""
    n = checks.positive_int(None, "number of threads", n)
    if _c is not None:
        _c.set_num_threads(n)


def get_num_threads() -> int:
    check_environment()
    return _c.get_num_threads() if _c is not None else 1


def cpu_path() -> str:
    """SIMD path of the C kernels: ``generic``, ``avx2`` or ``avx512`` (``none`` if unbuilt)."""
    check_environment()
    return _c.cpu_path() if _c is not None else "none"


CPU_PATHS = ("generic", "avx2", "avx512")


def _apply_environment() -> str | None:
    """Apply ``DL_NUM_THREADS`` and ``DL_CPU``; the message for the first bad value, if any
    (then that value is not applied)."""
    threads, cpu = os.environ.get("DL_NUM_THREADS", "").strip(), os.environ.get("DL_CPU", "")
    try:
        if threads:
            n = int(threads) if threads.lstrip("-").isdigit() else threads
            set_num_threads(checks.positive_int(None, "DL_NUM_THREADS", n))
        if cpu.strip():
            path = checks.one_of(None, "DL_CPU", cpu.strip(), CPU_PATHS)
            if _c is not None:
                _c.set_cpu_path(path)
    except ValueError as exc:
        return f"{exc} (fix or unset the environment variable)"
    return None


def check_environment() -> None:
    """Raise the ValueError for a bad ``DL_NUM_THREADS`` / ``DL_CPU`` (read at import): every
    kernel call, thread or path query raises it until the variable is fixed, so a bad value
    is never silently ignored; `dl` checks it at start-up."""
    if _ENV_ERROR is not None:
        raise ValueError(_ENV_ERROR)


def build_info() -> dict:
    """How the kernels were built and what they run on (what `dl info` and run summaries
    report): backend, compiler, OpenMP, the CPU's features, the best and the chosen SIMD
    path, and the thread count."""
    return {
        "backend": get_backend(),
        "compiler": _c.compiler() if _c is not None else "not built",
        "openmp": bool(_c is not None and _c.openmp()),
        "cpu_features": list(_c.cpu_features()) if _c is not None else [],
        "cpu_best": _c.cpu_best() if _c is not None else "none",
        "cpu_path": cpu_path(),
        "threads": get_num_threads(),
    }


def peak_gflops(seconds: float = 0.2) -> float | None:
    """One thread's measured FMA peak on the chosen SIMD path (None when the C kernels are not
    built): the yardstick for "% of peak" in benchmarks."""
    return _c.peak_gflops(seconds=seconds) if _c is not None else None


_ENV_ERROR: str | None = _apply_environment()
