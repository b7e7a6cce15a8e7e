"""Losses. Cross-entropy with class ids runs on the fused softmax cross-entropy kernel."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import checks, kernels
from ..kernels.contract import REDUCTIONS
from ..tensor import Tensor, is_grad_enabled, unbroadcast
from ._args import reduce_loss, same_shape
from .activation import log_softmax


def _classes_last(input: Tensor, target: Tensor | None = None):
    """(N, C, d1, …) -> (N·d1·…, C) and target (N, d1, …) -> (N·d1·…,); (C,) -> (1, C)."""
    if input.ndim == 1:
        return input.reshape(1, -1), None if target is None else target.reshape(1)
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
    return input, None if target is None else target.reshape(-1)


def _class_ids(input: Tensor, target, op: str) -> Tensor:
    target = target if isinstance(target, Tensor) else Tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class ids (or, for cross_entropy, "
                        f"class probabilities shaped like the input), got dtype {target.dtype} "
                        f"of shape {target.shape}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs target of shape {expected}, "
                         f"got {target.shape}")
    return target


def cross_entropy(input: Tensor, target, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits: input (N, C) or (N, C, d1, …) or (C,).

    ``target``: class ids (N, d1, …) (``ignore_index`` skips entries; "mean" averages over the
    rest), or class probabilities shaped like ``input``. ``label_smoothing`` ε mixes the target
    with the uniform distribution: ``(1 - ε) y + ε / C``.
    """
    label_smoothing = checks.in_range("cross_entropy", "label_smoothing", label_smoothing,
                                      0.0, 1.0)
    if isinstance(target, Tensor) and target.dtype.kind == "f" and target.shape == input.shape:
        return _soft_cross_entropy(input, target, reduction, label_smoothing)
    target = _class_ids(input, target, "cross_entropy")
    logits, ids = _classes_last(input, target)
    z = np.ascontiguousarray(logits.data)
    loss, dz = kernels.softmax_cross_entropy(
        z, np.asarray(ids.data, dtype=np.int64), reduction, ignore_index, label_smoothing,
        need_grad=logits.requires_grad and is_grad_enabled())

    def backward(g):
        return (dz * (g if reduction != "none" else g[:, None]),)
    out = Tensor._make(loss, (logits,), backward)
    return out.reshape(target.shape) if reduction == "none" else out


def _soft_cross_entropy(input: Tensor, target: Tensor, reduction: str,
                        label_smoothing: float) -> Tensor:
    logits, _ = _classes_last(input)
    probs, _ = _classes_last(target)
    if label_smoothing:
        probs = probs * (1 - label_smoothing) + label_smoothing / logits.shape[1]
    loss = -(probs * log_softmax(logits, 1)).sum(1)
    if reduction == "none":
        return loss.reshape(input.shape[:1] + input.shape[2:] if input.ndim > 1 else ())
    return reduce_loss(loss, reduction)


def nll_loss(input: Tensor, target, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """``-input[i, target[i]]`` for log-probabilities input (N, C) or (N, C, d1, …)."""
    target = _class_ids(input, target, "nll_loss")
    logp, ids = _classes_last(input, target)
    ids = ids.data
    valid = ids != ignore_index
    safe = np.where(valid, ids, 0)
    if ((safe < 0) | (safe >= logp.shape[1])).any():
        raise ValueError(f"nll_loss: target holds class ids outside [0, {logp.shape[1]})")
    loss = (-logp[np.arange(len(safe)), safe]).masked_fill(~valid, 0.0)
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "mean":
        return loss.sum() / int(valid.sum())
    return reduce_loss(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target)²`` (mean over all elements by default)."""
    same_shape(input, target, "mse_loss")
    diff = input - target
    return reduce_loss(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``."""
    same_shape(input, target, "l1_loss")
    return reduce_loss((input - target).abs(), reduction)


def _rescaling(weight, input: Tensor, op: str, name: str) -> np.ndarray | None:
    """``weight`` (None, a Tensor, an array or a number) as an array of the input's dtype,
    broadcast to its shape. A constant: as in PyTorch no gradient flows to it, so one that
    requires grad is refused rather than silently left without a gradient."""
    if weight is None:
        return None
    if isinstance(weight, str):  # the third slot once held reduction
        raise TypeError(f"{op}: {name} must be a tensor or None, got {weight!r} "
                        "(pass reduction= by keyword)")
    if isinstance(weight, Tensor):
        if weight.requires_grad and is_grad_enabled():
            raise ValueError(f"{op}: {name} gets no gradient; pass {name}.detach()")
        weight = weight.data
    array = np.asarray(weight)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{op}: {name} must hold numbers, got dtype {array.dtype}")
    try:
        return np.broadcast_to(array.astype(input.dtype, copy=False), input.shape)
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {array.shape} does not broadcast to the input's "
                         f"shape {input.shape}") from None


def binary_cross_entropy(input: Tensor, target: Tensor, weight=None,
                         reduction: str = "mean") -> Tensor:
    """``-w (y log p + (1 - y) log(1 - p))`` for probabilities p; each log is clamped at -100
    (as in PyTorch) so that p = 0 or 1 gives a finite loss. ``weight`` w, broadcast to the
    input, rescales each element (a constant); "mean" is the plain mean of the rescaled terms."""
    op = "binary_cross_entropy"
    checks.one_of(op, "reduction", reduction, REDUCTIONS)
    same_shape(input, target, op)
    w = _rescaling(weight, input, op, "weight")
    p, y = input.data, target.data
    if ((p < 0) | (p > 1)).any():
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] "
                         "(use binary_cross_entropy_with_logits for logits)")
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)

    def backward(g):
        if w is not None:
            g = g * w
        return (g * (p - y) / np.maximum(p * (1 - p), 1e-12) if input.requires_grad else None,
                g * (log_q - log_p) if target.requires_grad else None)
    loss = -(y * log_p + (1 - y) * log_q)
    if w is not None:
        loss = loss * w
    loss = Tensor._make(loss, (input, target), backward)
    return reduce_loss(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """``binary_cross_entropy(sigmoid(x), y, weight)`` from the logits x, computed stably as
    ``max(x, 0) - x y + log(1 + exp(-|x|))`` (no overflow however large |x|).

    ``pos_weight`` p (broadcast to the input, typically one per class along the last
    dimension) multiplies the positive term, ``-w [p y log σ(x) + (1 - y) log(1 - σ(x))]``:
    p > 1 trades precision for recall, e.g. p = negatives / positives for rare classes. Like
    ``weight`` it is a constant."""
    op = "binary_cross_entropy_with_logits"
    checks.one_of(op, "reduction", reduction, REDUCTIONS)
    same_shape(input, target, op)
    w = _rescaling(weight, input, op, "weight")
    pw = _rescaling(pos_weight, input, op, "pos_weight")
    x, y = input.data, target.data
    if pw is None:
        loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    else:  # (1 - y) x + (1 + (p - 1) y) softplus(-x), with softplus(-x) = -log σ(x)
        minus_log_sigmoid = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        positive = (pw - 1) * y + 1
        loss = (1 - y) * x + positive * minus_log_sigmoid
    if w is not None:
        loss = loss * w

    def backward(g):
        if w is not None:
            g = g * w
        if pw is None:
            gx = g * (0.5 * (np.tanh(0.5 * x) + 1) - y) if input.requires_grad else None
            return gx, (-g * x if target.requires_grad else None)
        gx = None
        if input.requires_grad:  # 1 - σ(x) = (1 - tanh(x / 2)) / 2
            gx = g * ((1 - y) - positive * (0.5 * (1 - np.tanh(0.5 * x))))
        gy = g * ((pw - 1) * minus_log_sigmoid - x) if target.requires_grad else None
        return gx, gy
    return reduce_loss(Tensor._make(loss, (input, target), backward), reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under N(input, var):
    ``½ (log v + (input - target)² / v)``, plus ½ log 2π when ``full``, with v = max(var, eps).

    As in PyTorch the clamp is invisible to autograd: var's gradient is the one at the clamped
    value, so a variance driven below eps is still pulled back rather than stuck at a zero
    gradient. ``var`` is shaped like the input (one variance per value), like it without the
    last dimension or with one dimension 1 (one variance shared along it), or a number.
    """
    op = "gaussian_nll_loss"
    checks.one_of(op, "reduction", reduction, REDUCTIONS)
    eps = checks.in_range(op, "eps", eps, 0.0)
    same_shape(input, target, op)
    if isinstance(var, Tensor):
        v = var.data
    elif isinstance(var, numbers.Real) and not isinstance(var, bool):
        v, var = np.asarray(var, dtype=input.dtype), None
    else:
        raise TypeError(f"{op}: var must be a Tensor or a number, got {type(var).__name__}")
    if (v < 0).any():
        raise ValueError(f"{op}: var has negative entries")
    shape = v.shape
    if var is not None and shape != input.shape:
        if shape == input.shape[:-1]:  # one variance per row: broadcast along the last dim
            shape = shape + (1,)
        elif not (len(shape) == input.ndim and sum(
                s for i, s in zip(input.shape, shape) if i != s) == 1):
            raise ValueError(f"{op}: var of shape {var.shape} must have the input's shape "
                             f"{input.shape}, that shape without its last dimension, or one "
                             "dimension of it 1")
    v = np.maximum(v.reshape(shape), eps)
    diff = input.data - target.data
    loss = 0.5 * (np.log(v) + diff * diff / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)

    def backward(g):
        g_input = g * diff / v
        g_var = None
        if var is not None and var.requires_grad:
            g_var = unbroadcast(0.5 * g * (1 / v - diff * diff / (v * v)), shape)
            g_var = g_var.reshape(var.shape)
        return (g_input if input.requires_grad else None,
                -g_input if target.requires_grad else None, g_var)[:len(parents)]
    parents = (input, target) if var is None else (input, target, var)
    return reduce_loss(Tensor._make(loss, parents, backward), reduction)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target ‖ q) pointwise ``target (log target - input)`` for log-probabilities
    ``input``; 0 where target = 0. ``reduction="batchmean"`` divides the sum by the batch
    size (the true KL per example); ``"mean"`` divides by the element count, as in PyTorch."""
    same_shape(input, target, "kl_div")
    q, t = input.data, target.data
    if log_target:
        p = np.exp(t)
        log_p = t
    else:
        p = t
        with np.errstate(divide="ignore"):
            log_p = np.where(t > 0, np.log(np.where(t > 0, t, 1)), 0)

    def backward(g):
        gt = None
        if target.requires_grad:
            gt = g * (p * (log_p - q + 1) if log_target else np.where(t > 0, log_p - q + 1, 0))
        return (-g * p if input.requires_grad else None), gt
    loss = Tensor._make(p * (log_p - q), (input, target), backward)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return reduce_loss(loss, reduction)
