"""Reductions over ``dim`` (an int, a tuple of ints, or None for all), with ``keepdim``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..tensor import Tensor


class ValuesIndices(NamedTuple):
    """What ``max``/``min`` over a dim return, as in PyTorch."""

    values: Tensor
    indices: Tensor


def _axes(dim, ndim: int) -> tuple[int, ...] | None:
    """``dim`` as sorted non-negative axes; None means all (a 0-d tensor has only "all")."""
    if dim is None or ndim == 0:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dims")
    return tuple(sorted(d % ndim for d in dims))


def _regrow(g: np.ndarray, shape: tuple[int, ...], axes, keepdim: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes (a read-only view)."""
    if not keepdim and axes is not None:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _count(shape: tuple[int, ...], axes) -> int:
    return int(np.prod(shape if axes is None else [shape[a] for a in axes]))


def sum(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = _axes(dim, a.ndim)
    out = a.data.sum(axis=axes, keepdims=keepdim)
    return Tensor._make(out, (a,), lambda g: (_regrow(g, a.shape, axes, keepdim),))


def mean(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = _axes(dim, a.ndim)
    out = a.data.mean(axis=axes, keepdims=keepdim)
    scale = 1.0 / _count(a.shape, axes)
    return Tensor._make(out, (a,), lambda g: (_regrow(g * scale, a.shape, axes, keepdim),))


def var(a: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False) -> Tensor:
    """Variance; ``unbiased`` divides by n - 1 (PyTorch's default), else by n."""
    axes = _axes(dim, a.ndim)
    centred = a.data - a.data.mean(axis=axes, keepdims=True)
    denominator = _count(a.shape, axes) - int(unbiased)
    out = (centred * centred).sum(axis=axes, keepdims=keepdim) / denominator

    def backward(g):
        return (_regrow(g, a.shape, axes, keepdim) * centred * (2.0 / denominator),)
    return Tensor._make(out, (a,), backward)


def std(a: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False) -> Tensor:
    return var(a, dim, unbiased, keepdim).sqrt()


def max(a: Tensor, dim=None, keepdim: bool = False):
    """The max of all elements, or ``(values, indices)`` over ``dim``. The gradient is shared
    equally among tied maxima."""
    return _extremum(a, dim, keepdim, np.max, np.argmax)


def min(a: Tensor, dim=None, keepdim: bool = False):
    """The min of all elements, or ``(values, indices)`` over ``dim`` (ties as in :func:`max`)."""
    return _extremum(a, dim, keepdim, np.min, np.argmin)


def _extremum(a: Tensor, dim, keepdim: bool, reduce, arg):
    if a.data.size == 0:
        raise ValueError(f"max/min of an empty tensor of shape {a.shape}")
    axes = _axes(dim, a.ndim)
    kept = reduce(a.data, axis=axes, keepdims=True)

    def backward(g):
        hits = a.data == kept
        return (_regrow(g, a.shape, axes, keepdim) * hits / hits.sum(axis=axes, keepdims=True),)
    values = Tensor._make(kept if keepdim else np.squeeze(kept, axis=axes), (a,), backward)
    if dim is None:
        return values
    if axes is not None and len(axes) != 1:
        raise ValueError(f"max/min over several dims has no single index, got dim={dim}")
    indices = arg(a.data, axis=None if axes is None else axes[0], keepdims=keepdim)
    return ValuesIndices(values, Tensor._make(indices, (), None))


def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the max (of the flattened tensor when ``dim`` is None), int64, no gradient."""
    return Tensor._make(np.argmax(a.data, axis=dim, keepdims=keepdim), (), None)


def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return Tensor._make(np.argmin(a.data, axis=dim, keepdims=keepdim), (), None)


def logsumexp(a: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log Σ exp(a)`` over ``dim``, shifted by the max so that large logits do not overflow."""
    axes = _axes(dim, a.ndim)
    shift = a.data.max(axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)  # an all -inf row gives -inf, not nan
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer for such a row
        kept = np.log(np.exp(a.data - shift).sum(axis=axes, keepdims=True)) + shift

    def backward(g):
        return (_regrow(g, a.shape, axes, keepdim) * np.exp(a.data - kept),)
    out = kept if keepdim else np.squeeze(kept, axis=axes)
    return Tensor._make(out, (a,), backward)
