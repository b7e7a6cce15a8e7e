"""Dropout: inverted dropout in training, the identity in evaluation."""
from __future__ import annotations

from dlcore.nn import functional as F
from dlcore.nn.module import Module
from dlcore.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` (the drop probability) and scale survivors by
    ``1/(1 − p)`` during training, so the expected output equals the input and evaluation
    needs no rescaling. The input itself is never modified."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout expects a drop probability p in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
