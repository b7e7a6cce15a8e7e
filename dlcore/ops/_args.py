"""Runtime input checks shared by the ops (argument values are checked by :mod:`dlcore.checks`)."""
from __future__ import annotations

from .. import checks
from ..kernels.contract import REDUCTIONS
from ..tensor import Tensor


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
    checks.one_of("loss", "reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ")
