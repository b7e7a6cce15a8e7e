"""Resampling: ``interpolate`` in modes ``"nearest"`` and ``"linear"``/``"bilinear"``, forward
and backward, on PyTorch's conventions.

Both modes are separable: each spatial axis maps its input length to its output length on its
own, so an axis is described once — its source indices and weights, as PyTorch's CPU kernels
compute them — and applied with a gather (nearest), or an (out, in) matrix product (linear; a
gather of the two taps on long axes). The backward pass is the transpose of the same per-axis
maps. Nothing is cached between calls.

PyTorch's per-axis conventions, whose indices and float32 weights are reproduced bit for bit
(so nearest outputs are exact; linear ones agree to rounding, and float64 weights may differ
from PyTorch's in the last bit):

- scale: ``1 / scale_factor`` when a scale factor is given (and not recomputed), else
  ``in / out``; with ``align_corners=True`` always ``(in - 1) / (out - 1)``, so a scale factor
  that is not exactly ``out / in`` changes the result unless ``recompute_scale_factor=True``.
- nearest: ``min(floor(scale * i), in - 1)`` in float32 arithmetic whatever the dtype; an
  output as long as the input copies it and one twice as long takes ``i // 2``, even when the
  scale factor says otherwise (``scale_factor=1.2`` on 3 pixels copies).
- linear: ``src = max(scale * (i + 0.5) - 0.5, 0)`` (``scale * i`` with ``align_corners``)
  in the input's dtype, rounded once (PyTorch's kernel fuses the multiply-add), blending
  ``floor(src)`` and the next index (the last index at the edge) with weight
  ``src - floor(src)``; an output as long as the input copies it unless ``align_corners``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import checks, kernels
from ..tensor import Tensor

MODES = ("nearest", "linear", "bilinear")
# the input layouts each mode takes, by ndim
_LAYOUTS = {"nearest": {3: "(N, C, L)", 4: "(N, C, H, W)"}, "linear": {3: "(N, C, L)"},
            "bilinear": {4: "(N, C, H, W)"}}


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """input (N, C, H, W) (or (N, C, L) for ``"nearest"``/``"linear"``) resized to ``size``
    or to ``floor(in * scale_factor)`` per axis, as ``torch.nn.functional.interpolate``.

    Give exactly one of ``size`` and ``scale_factor`` (a number, or one per spatial axis).
    ``align_corners`` (linear modes only, default False) maps the corner pixels' centres onto
    each other. ``recompute_scale_factor=True`` interpolates with ``in / out`` rather than the
    given factor. ``antialias`` is accepted only as False (no antialiased downsampling)."""
    size, scale_factor, align_corners = check_options(
        "interpolate", size, scale_factor, mode, align_corners, recompute_scale_factor)
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported (no antialiased "
                         "downsampling); pass antialias=False")
    check_input("interpolate", input, mode)
    out_sizes, factors = _output_sizes(input.shape, size, scale_factor,
                                       bool(recompute_scale_factor))
    if mode == "nearest":
        return _nearest(input, out_sizes, factors)
    return _linear(input, out_sizes, factors, align_corners)


def check_options(owner, size=None, scale_factor=None, mode: str = "nearest",
                  align_corners=None, recompute_scale_factor=None):
    """The checks that need no input, shared by ``interpolate`` and ``nn.Upsample`` (whose
    constructor runs them): ``(size, scale_factor, align_corners)`` normalised — size an int
    or a tuple of ints, scale_factor a float or a tuple of floats, the unused one None;
    align_corners a bool for the linear modes (None means False), None for nearest."""
    checks.one_of(owner, "mode", mode, MODES)
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(f"{owner}: align_corners can only be set with the interpolating "
                             f"modes 'linear' and 'bilinear', got mode='nearest' with "
                             f"align_corners={align_corners!r}")
    else:
        align_corners = bool(align_corners)
    if (size is None) == (scale_factor is None):
        given = "both" if size is not None else "neither"
        raise ValueError(f"{owner}: give exactly one of size and scale_factor, got {given} "
                         f"(size={size!r}, scale_factor={scale_factor!r})")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{owner}: recompute_scale_factor is not meaningful with an "
                             f"explicit size (size={size!r})")
        return _each(size, lambda v: checks.positive_int(owner, "size", v)), None, align_corners
    return None, _each(scale_factor, lambda v: checks.in_range(
        owner, "scale_factor", v, 0.0, math.inf, low_open=True, high_open=True)), align_corners


def check_input(owner, x, mode: str) -> None:
    """Refuse anything but a floating tensor of a layout ``mode`` takes."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner} expects a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{owner} expects a floating-point input, got dtype {x.dtype} "
                        "(cast with .float())")
    layouts = _LAYOUTS[mode]
    if x.ndim not in layouts:
        raise ValueError(f"{owner} with mode={mode!r} expects input "
                         f"{' or '.join(layouts.values())}, got input of shape {x.shape}")
    if 0 in x.shape[2:]:
        raise ValueError(f"{owner} expects non-empty spatial dims, got input of shape {x.shape}")


def _each(value, check):
    """``check`` applied to a number, or to each entry of a tuple or list (made a tuple)."""
    if isinstance(value, (tuple, list)):
        return tuple(check(v) for v in value)
    return check(value)


def _output_sizes(shape, size, scale_factor, recompute: bool):
    """Per spatial axis: the output length, and the scale factor the kernel uses (None: use
    ``in / out``). Lengths are ``floor(in * factor)`` in float64, as PyTorch computes them."""
    spatial = shape[2:]
    name, value = ("size", size) if size is not None else ("scale_factor", scale_factor)
    if isinstance(value, tuple):
        if len(value) != len(spatial):
            raise ValueError(f"interpolate: {name}={value!r} has {len(value)} entries for the "
                             f"{len(spatial)} spatial dims of input shape {shape}")
    else:
        value = (value,) * len(spatial)
    if size is not None:
        return value, (None,) * len(spatial)
    out = tuple(math.floor(n * f) for n, f in zip(spatial, value))
    if min(out) < 1:
        raise ValueError(f"interpolate: scale_factor={scale_factor!r} makes an empty output "
                         f"{out} from spatial size {tuple(spatial)}; each output size must "
                         "be >= 1")
    return out, (None,) * len(spatial) if recompute else value


# --- per-axis maps ---------------------------------------------------------------------------

def nearest_indices(in_size: int, out_size: int, scale_factor: float | None = None) -> np.ndarray:
    """int64 (out_size,): the source index of each output along one axis, as PyTorch's
    ``nearest`` mode computes it (in float32, with its two exact special cases).
    Non-decreasing, which the backward pass relies on."""
    if out_size == in_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) // 2
    f32 = np.float32
    scale = f32(1.0 / scale_factor) if scale_factor else f32(in_size) / f32(out_size)
    source = np.floor(scale * np.arange(out_size, dtype=f32)).astype(np.int64)
    return np.minimum(source, in_size - 1)


def linear_weights(in_size: int, out_size: int, align_corners: bool = False,
                   scale_factor: float | None = None, dtype=np.float32):
    """Per output index along one axis, as PyTorch's linear modes compute them (in
    ``dtype``): the two source indices ``(first, second)`` (int64, ``second`` = ``first + 1``
    but at the last index) and the weight of ``second`` (``dtype``; ``first`` gets
    ``1 - weight``). The one place for this maths: ``data.Resize`` uses it too."""
    dtype = np.dtype(dtype)
    if out_size == in_size and not align_corners:
        index = np.arange(in_size)
        return index, index, np.zeros(in_size, dtype)
    real = dtype.type
    if align_corners:
        scale = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
        offset = 0.0
    else:
        scale = real(1.0 / scale_factor) if scale_factor else real(in_size) / real(out_size)
        offset = 0.5
    # float32: scale * (i + offset) - offset rounded once, as PyTorch's fused multiply-add
    # (float64 holds the float32 product exactly); float64: plain double arithmetic
    steps = np.arange(out_size, dtype=np.float64) + offset
    source = np.maximum((np.float64(scale) * steps - offset).astype(dtype), 0)
    first = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    weight = np.clip(source - first.astype(dtype), 0, 1).astype(dtype, copy=False)
    return first, first + (first < in_size - 1), weight


# Linear axes up to this input length run as a dense (out, in) matrix on the GEMM kernel (a
# row has two non-zeros, but BLAS beats gathers while rows are short); longer axes gather their
# two taps instead, whose cost does not grow with the input length.
_DENSE_MAX_IN = 256


def _linear_axis(axis, in_size, out_size, align_corners, scale_factor, dtype):
    """One axis's plan ``(axis, in_size, out_size, matrix, taps)``, exactly one of matrix and
    taps given; None when the axis copies."""
    first, second, weight = linear_weights(in_size, out_size, align_corners, scale_factor,
                                           dtype)
    rows = np.arange(out_size)
    if out_size == in_size and not weight.any() and np.array_equal(first, rows):
        return None
    if in_size > _DENSE_MAX_IN:
        return axis, in_size, out_size, None, (first, second, weight)
    matrix = np.zeros((out_size, in_size), dtype)
    matrix[rows, first] = 1 - weight
    matrix[rows, second] += weight  # one entry per row: no repeated index within the op
    return axis, in_size, out_size, matrix, None


def _gemm(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)`` on the GEMM kernel (so ``set_num_threads`` governs it), NumPy for
    dtypes the kernel lacks."""
    if a.dtype in (np.float32, np.float64):
        return kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


def _along(a: np.ndarray, matrix: np.ndarray, axis: int, transpose: bool = False):
    """``matrix`` (out, in), or its transpose, applied along ``axis`` of ``a`` as one GEMM."""
    if axis == a.ndim - 1:
        out = _gemm(a.reshape(-1, a.shape[-1]), matrix, trans_b=not transpose)
        return out.reshape(a.shape[:-1] + out.shape[-1:])
    moved = np.moveaxis(a, axis, 0)
    out = _gemm(matrix, moved.reshape(moved.shape[0], -1), trans_a=transpose)
    return np.moveaxis(out.reshape(out.shape[:1] + moved.shape[1:]), 0, axis)


def _sum_repeats(g: np.ndarray, axis: int, in_size: int, k: int) -> np.ndarray:
    """The transpose of ``np.repeat(x, k, axis)``: each group of k along ``axis`` summed, as k
    strided slices of a reshape (several times faster than ``.sum`` over the new axis)."""
    groups = g.reshape(g.shape[:axis] + (in_size, k) + g.shape[axis + 1:])
    lead = (slice(None),) * (axis + 1)
    out = groups[lead + (0,)].copy()
    for j in range(1, k):
        out += groups[lead + (j,)]
    return out


def _sum_runs(g: np.ndarray, index: np.ndarray, in_size: int, axis: int) -> np.ndarray:
    """The transpose of ``np.take(x, index, axis)`` for a non-decreasing ``index``: source j
    gets the sum of its run of outputs (0 if none reads it), gathered as the run's r-th
    element for r up to the longest run — O(output) work, no scatter."""
    counts = np.bincount(index, minlength=in_size)
    starts = np.cumsum(counts) - counts
    mask_shape = [1] * g.ndim
    mask_shape[axis] = in_size
    out = None
    for r in range(int(counts.max())):
        part = np.take(g, np.minimum(starts + r, index.size - 1), axis=axis)
        hit = counts > r
        if not hit.all():
            part *= hit.reshape(mask_shape)
        out = part if out is None else np.add(out, part, out=out)
    return out


def _taps(a: np.ndarray, axis: int, in_size: int, taps, transpose: bool) -> np.ndarray:
    """Linear interpolation along ``axis`` from its two taps, or its transpose, in O(output)."""
    first, second, weight = taps
    weight = weight.reshape(weight.shape + (1,) * (a.ndim - axis - 1))
    if not transpose:
        low, high = np.take(a, first, axis), np.take(a, second, axis)
        high -= low
        high *= weight
        low += high
        return low
    high = a * weight
    low = np.subtract(a, high)
    out = _sum_runs(low, first, in_size, axis)
    return np.add(out, _sum_runs(high, second, in_size, axis), out=out)


def _along_axes(a: np.ndarray, plans, transpose: bool = False) -> np.ndarray:
    """Each axis plan applied (transposed: backward). The last axis, which needs no
    transposing copy, goes last when it grows — its GEMM then writes the contiguous result and
    the other axes' copies move the smaller arrays — and first when it shrinks."""
    order = [p for p in plans if p[0] != a.ndim - 1]
    last = [p for p in plans if p[0] == a.ndim - 1]
    if last:
        in_size, out_size = last[0][1:3]
        grows = in_size >= out_size if transpose else out_size >= in_size
        order = order + last if grows else last + order
    for axis, in_size, _, matrix, taps in order:
        a = (_along(a, matrix, axis, transpose) if matrix is not None
             else _taps(a, axis, in_size, taps, transpose))
    return np.ascontiguousarray(a)


# --- the two modes ---------------------------------------------------------------------------

def _nearest(input: Tensor, out_sizes, factors) -> Tensor:
    """Per axis: copy; repeat (an integer scale whose indices are ``i // k``), whose backward
    sums each group of k; or gather, whose backward sums each source's run."""
    x = input.data
    plans = []  # (axis, in_size, k or None, indices)
    for axis, n, out, factor in zip(range(2, x.ndim), x.shape[2:], out_sizes, factors):
        if out == n:  # nearest_indices copies then
            continue
        index = nearest_indices(n, out, factor)
        k = out // n
        repeat = out % n == 0 and np.array_equal(index, np.arange(out) // k)
        plans.append((axis, n, k if repeat else None, index))
    y = x
    for axis, _, k, index in plans:
        y = np.repeat(y, k, axis) if k else np.take(y, index, axis)
    y = np.ascontiguousarray(y) if plans else x.copy()

    def backward(g):
        g = np.asarray(g, dtype=x.dtype)
        for axis, n, k, index in reversed(plans):
            g = _sum_repeats(g, axis, n, k) if k else _sum_runs(g, index, n, axis)
        return (np.ascontiguousarray(g),)
    return Tensor._make(y, (input,), backward)


def _linear(input: Tensor, out_sizes, factors, align_corners: bool) -> Tensor:
    """Per axis an (out, in) matrix applied as one GEMM over the whole batch, or for a long
    axis a gather of its two taps; the backward pass applies the transposes."""
    x = input.data
    plans = []
    for axis, n, out, factor in zip(range(2, x.ndim), x.shape[2:], out_sizes, factors):
        plan = _linear_axis(axis, n, out, align_corners, factor, x.dtype)
        if plan is not None:
            plans.append(plan)
    if x.size == 0:  # an empty batch: no rows for the GEMM, only the shape matters
        shape = x.shape[:2] + tuple(out_sizes)
        return Tensor._make(np.zeros(shape, x.dtype), (input,), lambda g: (np.zeros_like(x),))
    y = _along_axes(x, plans) if plans else x.copy()

    def backward(g):
        return (_along_axes(np.asarray(g, dtype=x.dtype), plans, transpose=True),)
    return Tensor._make(y, (input,), backward)
