"""Elementwise ops with NumPy broadcasting; each gradient is summed back to its input's shape.

``a`` is always a Tensor (these are its operators); ``b`` may also be a Python number or an
ndarray, which enters as a constant.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor, operand, to_arguments, unbroadcast


def add(a: Tensor, b) -> Tensor:
    b = operand(b, a)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)
    return Tensor._make(a.data + b.data, (a, b), backward)


def sub(a: Tensor, b) -> Tensor:
    b = operand(b, a)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)
    return Tensor._make(a.data - b.data, (a, b), backward)


def rsub(a: Tensor, b) -> Tensor:
    return sub(operand(b, a), a)


def mul(a: Tensor, b) -> Tensor:
    b = operand(b, a)

    def backward(g):
        return (unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                unbroadcast(g * a.data, b.shape) if b.requires_grad else None)
    return Tensor._make(a.data * b.data, (a, b), backward)


def div(a: Tensor, b) -> Tensor:
    b = operand(b, a)
    out = a.data / b.data

    def backward(g):
        ga = g / b.data
        return (unbroadcast(ga, a.shape) if a.requires_grad else None,
                unbroadcast(-ga * out, b.shape) if b.requires_grad else None)
    return Tensor._make(out, (a, b), backward)


def rdiv(a: Tensor, b) -> Tensor:
    return div(operand(b, a), a)


def pow(a: Tensor, b) -> Tensor:
    """``a ** b``; a number exponent (the common ``x ** 2``) takes a shorter path."""
    if isinstance(b, numbers.Real):
        return Tensor._make(a.data ** b, (a,), lambda g: (g * b * a.data ** (b - 1),))
    b = operand(b, a)
    out = a.data ** b.data

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape)
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * out * np.log(a.data), b.shape)
        return ga, gb
    return Tensor._make(out, (a, b), backward)


def rpow(a: Tensor, b) -> Tensor:
    return pow(operand(b, a), a)


def neg(a: Tensor) -> Tensor:
    return Tensor._make(-a.data, (a,), lambda g: (-g,))


def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return Tensor._make(out, (a,), lambda g: (g * out,))


def log(a: Tensor) -> Tensor:
    return Tensor._make(np.log(a.data), (a,), lambda g: (g / a.data,))


def sqrt(a: Tensor) -> Tensor:
    out = np.sqrt(a.data)
    return Tensor._make(out, (a,), lambda g: (g * 0.5 / out,))


def abs(a: Tensor) -> Tensor:
    """|a|; the gradient at 0 is 0, as in PyTorch."""
    return Tensor._make(np.abs(a.data), (a,), lambda g: (g * np.sign(a.data),))


def clamp(a: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """``a`` limited to [min, max]; the gradient passes where ``min <= a <= max``."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    inside = np.ones(a.shape, dtype=bool)
    if min is not None:
        inside &= a.data >= min
    if max is not None:
        inside &= a.data <= max
    return Tensor._make(np.clip(a.data, min, max), (a,), lambda g: (g * inside,))


def maximum(a: Tensor, b) -> Tensor:
    """Elementwise max; at ties each input gets half the gradient (as in PyTorch)."""
    return _pick(a, operand(b, a), np.greater)


def minimum(a: Tensor, b) -> Tensor:
    """Elementwise min; at ties each input gets half the gradient (as in PyTorch)."""
    return _pick(a, operand(b, a), np.less)


def _pick(a: Tensor, b: Tensor, wins) -> Tensor:
    share_a = wins(a.data, b.data) + 0.5 * (a.data == b.data)
    out = np.where(share_a > 0.5, a.data, b.data)

    def backward(g):
        return (unbroadcast(g * share_a, a.shape) if a.requires_grad else None,
                unbroadcast(g * (1 - share_a), b.shape) if b.requires_grad else None)
    return Tensor._make(out, (a, b), backward)


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` holds, else ``y`` (``x``/``y`` may be numbers, not both)."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where expects a bool condition, got dtype {condition.dtype}")
    if not isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            raise TypeError("where needs x or y to be a Tensor")
        x = operand(x, y)
    y = operand(y, x)

    def backward(g):
        return (unbroadcast(np.where(condition, g, 0), x.shape) if x.requires_grad else None,
                unbroadcast(np.where(condition, 0, g), y.shape) if y.requires_grad else None)
    return Tensor._make(np.where(condition, x.data, y.data), (x, y), backward)


def masked_fill(a: Tensor, mask, value: float) -> Tensor:
    """``a`` with ``value`` where ``mask`` (bool, broadcastable to ``a``) is True."""
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill expects a bool mask, got dtype {mask.dtype}")
    out = np.where(mask, np.asarray(value, dtype=a.dtype), a.data)
    if out.shape != a.shape:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's shape {a.shape}")
    return Tensor._make(out, (a,), lambda g: (np.where(mask, 0, g),))


def _compare(ufunc):
    def compare(a: Tensor, b) -> Tensor:
        return Tensor._make(ufunc(a.data, b.data if isinstance(b, Tensor) else b), (), None)
    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"Elementwise ``{ufunc.__name__}`` as a bool tensor (no gradient)."
    return compare


eq, ne = _compare(np.equal), _compare(np.not_equal)
lt, le = _compare(np.less), _compare(np.less_equal)
gt, ge = _compare(np.greater), _compare(np.greater_equal)


def clone(a: Tensor) -> Tensor:
    """A copy of the data that stays in the graph."""
    return Tensor._make(a.data.copy(), (a,), lambda g: (g,))


def to(a: Tensor, *args, **kwargs) -> Tensor:
    """Cast (``to(dtype)``, ``to(other)``; ``to("cpu")`` is the tensor itself); differentiable
    between floating dtypes, a cut in the graph otherwise."""
    dtype = to_arguments(args, kwargs, "Tensor")
    if dtype is None or dtype == a.dtype:
        return a
    data = a.data.astype(dtype)
    if dtype.kind != "f":
        return Tensor._make(data, (), None)
    return Tensor._make(data, (a,), lambda g: (g.astype(a.dtype),))


def float(a: Tensor) -> Tensor:
    return to(a, np.float32)


def double(a: Tensor) -> Tensor:
    return to(a, np.float64)


def long(a: Tensor) -> Tensor:
    return to(a, np.int64)
