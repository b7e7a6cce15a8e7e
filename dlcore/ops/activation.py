"""Activations and the softmax family; each backward is the closed-form local derivative."""
from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..tensor import Tensor, unbroadcast


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``; the derivative at 0 is 0 by convention. A C kernel: on conv feature maps
    NumPy's mask-and-multiply cost a quarter of a LeNet step."""
    if x.dtype.kind != "f":
        out = np.maximum(x.data, 0)
        return Tensor._make(out, (x,), lambda g: (g * (out > 0),))
    out = kernels.relu_forward(x.data)
    return Tensor._make(out, (x,), lambda g: (kernels.relu_backward(out, g),))


def add_relu(a: Tensor, b) -> Tensor:
    """``relu(a + b)``, a residual block's join, in one pass (add then ReLU make three) with one
    gradient for both inputs. Inputs that differ in shape or dtype (broadcasting, a number)
    take the two ops."""
    if not (isinstance(b, Tensor) and a.shape == b.shape and a.dtype == b.dtype
            and a.dtype.kind == "f"):
        return relu(a + b)
    out = kernels.add_relu_forward(a.data, b.data)

    def backward(g):
        grad = kernels.relu_backward(out, g)
        return (grad if a.requires_grad else None), (grad if b.requires_grad else None)
    return Tensor._make(out, (a, b), backward)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` for x > 0, ``negative_slope * x`` otherwise. A C kernel pair: NumPy's select took
    6 % of a DCGAN step."""
    if x.dtype.kind != "f":
        raise TypeError(f"leaky_relu expects a float tensor, got dtype {x.dtype}")
    data = x.data
    return Tensor._make(kernels.leaky_relu_forward(data, negative_slope), (x,), lambda g: (
        kernels.leaky_relu_backward(data, np.ascontiguousarray(g, dtype=data.dtype),
                                    negative_slope),))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, one learned slope per channel (dim 1) or one shared.

    x: (N, C, …), weight: (C,) or (1,).
    """
    if weight.ndim != 1 or (weight.shape[0] != 1 and (x.ndim < 2 or x.shape[1] != weight.shape[0])):
        raise ValueError(f"prelu: weight of shape {weight.shape} does not fit input of shape "
                         f"{x.shape} (one slope, or one per channel of dim 1)")
    w = weight.data.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else weight.data
    positive = x.data > 0
    out = np.where(positive, x.data, w * x.data)

    def backward(g):
        gw = None
        if weight.requires_grad:
            gw = unbroadcast(np.where(positive, 0, g * x.data), w.shape).reshape(weight.shape)
        return (np.where(positive, g, g * w) if x.requires_grad else None), gw
    return Tensor._make(out, (x, weight), backward)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    positive = x.data > 0
    negative_part = alpha * np.expm1(np.minimum(x.data, 0))
    out = np.where(positive, x.data, negative_part)
    return Tensor._make(out, (x,), lambda g: (g * np.where(positive, 1, negative_part + alpha),))


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, computed as ``(1 + tanh(x/2)) / 2`` so it never overflows."""
    out = 0.5 * (np.tanh(0.5 * x.data) + 1)
    return Tensor._make(out, (x,), lambda g: (g * out * (1 - out),))


def tanh(x: Tensor) -> Tensor:
    out = np.tanh(x.data)
    return Tensor._make(out, (x,), lambda g: (g * (1 - out * out),))


def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    s = 0.5 * (np.tanh(0.5 * x.data) + 1)
    return Tensor._make(x.data * s, (x,), lambda g: (g * s * (1 + x.data * (1 - s)),))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``."""
    bx = beta * x.data
    out = np.where(bx > threshold, x.data, np.logaddexp(0, bx) / beta).astype(x.dtype)
    slope = np.where(bx > threshold, 1, 0.5 * (np.tanh(0.5 * bx) + 1)).astype(x.dtype)
    return Tensor._make(out, (x,), lambda g: (g * slope,))


_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """``x Φ(x)``, Φ the standard normal CDF; ``approximate="tanh"`` uses
    ``0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))``."""
    v = x.data
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v ** 3))
        out = 0.5 * v * (1 + t)
        slope = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * v * v)
    elif approximate == "none":  # a C kernel: NumPy's erf fit cost a tenth of a GPT step
        out, slope = kernels.gelu_forward(v)
    else:
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    return Tensor._make(out.astype(v.dtype), (x,), lambda g: (g * slope.astype(v.dtype),))


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / Σ exp(x)`` along ``dim``, max-shifted (stable for logits ~1000)."""
    e = np.exp(x.data - x.data.max(axis=dim, keepdims=True))
    out = e / e.sum(axis=dim, keepdims=True)

    def backward(g):
        return (out * (g - (g * out).sum(axis=dim, keepdims=True)),)
    return Tensor._make(out, (x,), backward)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``."""
    shifted = x.data - x.data.max(axis=dim, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(g):
        return (g - np.exp(out) * g.sum(axis=dim, keepdims=True),)
    return Tensor._make(out, (x,), backward)
