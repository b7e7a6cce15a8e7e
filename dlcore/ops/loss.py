"""Losses. Cross-entropy with class ids runs on the fused softmax cross-entropy kernel."""
from __future__ import annotations

import numpy as np

from .. import checks, kernels
from ..tensor import Tensor, is_grad_enabled
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


def binary_cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities p; each log is clamped at -100
    (as in PyTorch) so that p = 0 or 1 gives a finite loss."""
    same_shape(input, target, "binary_cross_entropy")
    p, y = input.data, target.data
    if ((p < 0) | (p > 1)).any():
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] "
                         "(use binary_cross_entropy_with_logits for logits)")
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)

    def backward(g):
        return (g * (p - y) / np.maximum(p * (1 - p), 1e-12) if input.requires_grad else None,
                g * (log_q - log_p) if target.requires_grad else None)
    loss = Tensor._make(-(y * log_p + (1 - y) * log_q), (input, target), backward)
    return reduce_loss(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(x), y)`` computed stably as
    ``max(x, 0) - x y + log(1 + exp(-|x|))``."""
    same_shape(input, target, "binary_cross_entropy_with_logits")
    x, y = input.data, target.data

    def backward(g):
        return (g * (0.5 * (np.tanh(0.5 * x) + 1) - y) if input.requires_grad else None,
                -g * x if target.requires_grad else None)
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return reduce_loss(Tensor._make(loss, (input, target), backward), reduction)


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
