"""Batch and layer normalisation, each one fused op with its closed-form backward; batch norm's
statistics, normalisation and gradients are kernels."""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..tensor import Tensor


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance), and ``1/sqrt(var+eps)``."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return centred * inv_std, inv_std, mean, var


def _normalize_backward(g_xhat, xhat, inv_std, axes):
    """Gradient through ``xhat = (x - mean(x)) * inv_std`` when mean and var depend on x."""
    return inv_std * (g_xhat - g_xhat.mean(axis=axes, keepdims=True)
                      - xhat * (g_xhat * xhat).mean(axis=axes, keepdims=True))


def _affine(xhat, weight, bias, shape):
    out = xhat * weight.data.reshape(shape) if weight is not None else xhat.copy()
    if bias is not None:
        out += bias.data.reshape(shape)
    return out


def _affine_grads(g, xhat, weight, bias, axes, shape):
    """Gradients of ``weight``/``bias`` (each ``None`` when absent or not needed)."""
    grads = ()
    if weight is not None:
        grads += ((g * xhat).sum(axis=axes).reshape(weight.shape)
                  if weight.requires_grad else None,)
    if bias is not None:
        grads += (g.sum(axis=axes).reshape(bias.shape) if bias.requires_grad else None,)
    return grads


def batch_norm(input: Tensor, running_mean, running_var, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of input (N, C) or (N, C, …) over the other dims.

    Training uses the batch statistics (biased variance) and, when given, updates
    ``running_mean``/``running_var`` in place: ``r = (1 - momentum) r + momentum · stat``, the
    variance unbiased, as in PyTorch. Otherwise the running statistics are used. Forward and
    backward are kernels (C for float32): NumPy's passes over the batch made this op the main
    cost of a CNN step besides the convolutions.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects input (N, C) or (N, C, ...), got {input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for input of "
                             f"shape {input.shape}, got {t.shape}")
    x = input.data if input.dtype in (np.float32, np.float64) else input.data.astype(np.float64)

    def cast(t):  # a per-channel array in x's dtype: the kernels take one dtype
        return None if t is None else _array(t).astype(x.dtype, copy=False)
    w, b = cast(weight), cast(bias)
    if training:
        count = x.size // channels
        if count < 2:
            raise ValueError(f"batch_norm in training needs more than one value per channel, "
                             f"got input of shape {input.shape}")
        out, mean, var, inv_std = kernels.batch_norm_forward(x, w, b, eps=eps, training=True)
        if running_mean is not None:
            _update(running_mean, mean, momentum)
        if running_var is not None:
            _update(running_var, var * (count / (count - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm with training=False needs running_mean and running_var")
        out, mean, _, inv_std = kernels.batch_norm_forward(
            x, w, b, cast(running_mean), cast(running_var), eps, training=False)

    def backward(g):
        dx, dw, db = kernels.batch_norm_backward(
            x, g.astype(x.dtype, copy=False), mean, inv_std, w, training,
            need_dx=input.requires_grad, need_dweight=weight is not None and weight.requires_grad,
            need_dbias=bias is not None and bias.requires_grad)
        return (dx,) + ((dw,) if weight is not None else ()) + ((db,) if bias is not None else ())
    parents = (input,) + tuple(t for t in (weight, bias) if t is not None)
    return Tensor._make(out, parents, backward)


def _array(t) -> np.ndarray:
    return t.data if isinstance(t, Tensor) else t


def _update(running, statistic: np.ndarray, momentum: float) -> None:
    running = _array(running)
    running *= 1 - momentum
    running += momentum * statistic


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each example (same in training
    and evaluation); ``weight``/``bias`` have shape ``normalized_shape``."""
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, (int, np.integer))
                        else tuple(normalized_shape))
    k = len(normalized_shape)
    if k > input.ndim or input.shape[input.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm over {normalized_shape} does not fit input of shape "
                         f"{input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != normalized_shape:
            raise ValueError(f"layer_norm: {name} must have shape {normalized_shape}, "
                             f"got {t.shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    lead = tuple(range(input.ndim - k))
    xhat, inv_std, _, _ = _normalize(input.data, axes, eps)

    def backward(g):
        g_xhat = g * weight.data if weight is not None else g
        gx = _normalize_backward(g_xhat, xhat, inv_std, axes) if input.requires_grad else None
        return (gx,) + _affine_grads(g, xhat, weight, bias, lead, normalized_shape)
    parents = (input,) + tuple(t for t in (weight, bias) if t is not None)
    return Tensor._make(_affine(xhat, weight, bias, normalized_shape), parents, backward)
