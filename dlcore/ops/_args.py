"""Argument checks and conversions shared by the ops that take PyTorch-style arguments."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def pair(value, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair of ints, as ``(h, w)``."""
    pair_ = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair_) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair_):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair_[0]), int(pair_[1])


def image_batch(x: Tensor, op: str) -> None:
    """Refuse anything but a floating (N, C, H, W) tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op} expects a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op} expects a floating-point input, got dtype {x.dtype} "
                        "(cast with .float())")
    if x.ndim != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got {x.shape}")


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply a loss's ``reduction``: ``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ")
