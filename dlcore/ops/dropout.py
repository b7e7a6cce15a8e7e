"""Inverted dropout: scale the survivors at training time so evaluation is the identity."""
from __future__ import annotations

import numpy as np

from .. import checks, random
from ..tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and multiply the rest by ``1 / (1 - p)``; the
    mask comes from :func:`dlcore.random.generator`. Identity when not ``training``."""
    p = checks.in_range("dropout", "p", p, 0.0, 1.0)
    if not training or p == 0.0:
        return input
    keep = random.generator().random(input.shape, dtype=np.float32) >= p
    mask = keep * np.asarray(1.0 / (1.0 - p) if p < 1.0 else 0.0, dtype=input.dtype)
    return Tensor._make(input.data * mask, (input,), lambda g: (g * mask,))
