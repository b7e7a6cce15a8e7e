"""Parameter: a tensor that a Module registers as trainable when assigned as an attribute."""
from __future__ import annotations

from dlcore.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad (so it must be floating point). Wraps ``data`` without
    copying when its dtype is already right, so ``Parameter(t.data)`` shares memory with ``t``."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{super().__repr__()}"
