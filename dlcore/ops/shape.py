"""Shape ops: they move elements around, so each backward moves the gradient back."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import checks
from ..tensor import Tensor, _index_array, unbroadcast


def _dims(dims: tuple) -> tuple:
    """Dims given as ``f(x, 2, 3)`` or ``f(x, (2, 3))``."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], Sequence) else dims


def reshape(a: Tensor, *shape) -> Tensor:
    shape = _dims(shape)
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.data.size} elements) "
                         f"to {shape}") from None
    return Tensor._make(out, (a,), lambda g: (g.reshape(a.shape),))


view = reshape


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    return Tensor._make(np.swapaxes(a.data, dim0, dim1), (a,),
                        lambda g: (np.swapaxes(g, dim0, dim1),))


def permute(a: Tensor, *dims) -> Tensor:
    dims = _dims(dims)
    if sorted(d % a.ndim for d in dims) != list(range(a.ndim)):
        raise ValueError(f"permute of a tensor of shape {a.shape} needs each of its {a.ndim} "
                         f"dims once, got {dims}")
    inverse = np.argsort([d % a.ndim for d in dims])
    return Tensor._make(a.data.transpose(dims), (a,), lambda g: (g.transpose(inverse),))


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) for start_dim=1."""
    if a.ndim == 0:
        return reshape(a, 1)
    start, end = start_dim % a.ndim, end_dim % a.ndim
    return reshape(a, a.shape[:start] + (-1,) + a.shape[end + 1:])


def squeeze(a: Tensor, dim: int | None = None) -> Tensor:
    """Drop size-1 dims (only ``dim``, if given and of size 1, as in PyTorch)."""
    if dim is None:
        return reshape(a, tuple(n for n in a.shape if n != 1))
    dim %= a.ndim
    return reshape(a, a.shape[:dim] + a.shape[dim + 1:]) if a.shape[dim] == 1 else a


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (in ``-ndim-1 .. ndim``)."""
    if not -a.ndim - 1 <= dim <= a.ndim:
        raise IndexError(f"unsqueeze dim {dim} is out of range for a tensor with {a.ndim} dims")
    dim %= a.ndim + 1
    return reshape(a, a.shape[:dim] + (1,) + a.shape[dim:])


def expand(a: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a dim); the gradient is summed back."""
    sizes = _dims(sizes)
    lead = len(sizes) - a.ndim
    shape = tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    try:
        out = np.broadcast_to(a.data, shape)
    except ValueError:
        raise ValueError(f"cannot expand a tensor of shape {a.shape} to {sizes}") from None
    return Tensor._make(out, (a,), lambda g: (unbroadcast(g, a.shape),))


def contiguous(a: Tensor) -> Tensor:
    if a.data.flags.c_contiguous:
        return a
    return Tensor._make(np.ascontiguousarray(a.data), (a,), lambda g: (g,))


def getitem(a: Tensor, index) -> Tensor:
    """Basic and integer-array indexing; repeated indices add up their gradients."""
    index = _index_array(index)
    out = a.data[index]
    parts = index if isinstance(index, tuple) else (index,)
    advanced = any(isinstance(i, (np.ndarray, list)) for i in parts)

    def backward(g):
        grad = np.zeros(a.shape, dtype=g.dtype)
        if advanced:
            np.add.at(grad, index, g)
        else:
            grad[index] = g
        return (grad,)
    return Tensor._make(out, (a,), backward)


def index_select(a: Tensor, dim: int, index) -> Tensor:
    """Entries ``index`` (1-D ints) along ``dim``, repeats allowed."""
    index = np.asarray(index.data if isinstance(index, Tensor) else index)
    dim %= a.ndim

    def backward(g):
        grad = np.zeros(a.shape, dtype=g.dtype)
        np.add.at(grad, (slice(None),) * dim + (index,), g)
        return (grad,)
    return Tensor._make(np.take(a.data, index, axis=dim), (a,), backward)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join along an existing ``dim``; the other dims must match."""
    tensors = _nonempty(tensors, "cat")
    try:
        out = np.concatenate([t.data for t in tensors], axis=dim)
    except ValueError as error:
        raise ValueError(f"cat along dim {dim} of shapes {[t.shape for t in tensors]}: "
                         f"{error}") from None
    bounds = np.cumsum([t.shape[dim] for t in tensors])[:-1]
    return Tensor._make(out, tuple(tensors), lambda g: tuple(np.split(g, bounds, axis=dim)))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join along a new ``dim``; all shapes must be equal."""
    tensors = _nonempty(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {[t.shape for t in tensors]}")
    out = np.stack([t.data for t in tensors], axis=dim)
    axis = dim % out.ndim
    return Tensor._make(out, tuple(tensors),
                        lambda g: tuple(np.moveaxis(g, axis, 0)))


def _nonempty(tensors, name: str) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{name} expects a non-empty sequence of Tensors")
    return tensors


def split(a: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    length = a.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise ValueError(f"split size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (length // split_size_or_sections)
        if length % split_size_or_sections:
            sizes.append(length % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ValueError(f"split sizes {sizes} do not add up to dim {dim} of shape {a.shape}")
    lead = (slice(None),) * (dim % a.ndim)
    starts = np.cumsum([0] + sizes[:-1])
    return tuple(getitem(a, lead + (slice(s, s + n),)) for s, n in zip(starts, sizes))


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of ``ceil(n / chunks)`` along ``dim`` (fewer if n is small)."""
    if chunks <= 0:
        raise ValueError(f"chunk count must be positive, got {chunks}")
    return split(a, math.ceil(a.shape[dim] / chunks), dim)


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(a: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dims, PyTorch order: ``(left, right)`` of the last dim, then the one before…

    ``mode``: ``"constant"`` (with ``value``), ``"reflect"`` (``[a,b,c] -> b,[a,b,c],b``),
    ``"replicate"`` or ``"circular"``.
    """
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise ValueError(f"pad needs (left, right) pairs for at most {a.ndim} dims, got {pad}")
    widths = [(0, 0)] * (a.ndim - len(pad) // 2) + [
        (pad[i], pad[i + 1]) for i in range(len(pad) - 2, -1, -2)]
    if mode == "constant":
        out = np.pad(a.data, widths, constant_values=value)
        inner = tuple(slice(lo, out.shape[d] - hi) for d, (lo, hi) in enumerate(widths))
        return Tensor._make(out, (a,), lambda g: (g[inner],))
    checks.one_of("pad", "mode", mode, ("constant", *_PAD_MODES))
    # the other modes gather existing entries: pad the index, then select (differentiable)
    for dim, (lo, hi) in enumerate(widths):
        if lo or hi:
            a = index_select(a, dim, np.pad(np.arange(a.shape[dim]), (lo, hi), _PAD_MODES[mode]))
    return a
