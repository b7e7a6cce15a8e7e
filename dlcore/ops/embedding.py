"""Index lookups: embedding rows and one-hot vectors."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _indices(input, op: str) -> np.ndarray:
    indices = input.data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op} expects integer indices, got dtype {indices.dtype}")
    return indices


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (V, D) at ``input`` (any shape of ints) -> (*input.shape, D).

    The row ``padding_idx`` gets no gradient. Repeated indices add up their gradients."""
    indices = _indices(input, "embedding")
    vocabulary = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= vocabulary):
        raise ValueError(f"embedding: indices must be in [0, {vocabulary}), got "
                         f"[{indices.min()}, {indices.max()}]")

    def backward(g):
        grad = np.zeros_like(weight.data)
        np.add.at(grad, indices.reshape(-1), g.reshape(-1, weight.shape[1]))
        if padding_idx is not None:
            grad[padding_idx] = 0
        return (grad,)
    return Tensor._make(weight.data[indices], (weight,), backward)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot vectors: (…) class ids -> (…, num_classes); -1 means ``max + 1``."""
    indices = _indices(tensor, "one_hot")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: class ids must be in [0, {num_classes}), got "
                         f"[{indices.min()}, {indices.max()}]")
    return Tensor._make((indices[..., None] == np.arange(num_classes)).astype(np.int64), (), None)
