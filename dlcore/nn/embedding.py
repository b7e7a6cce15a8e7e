"""Embedding: a lookup table from integer ids to learned vectors."""
from __future__ import annotations

import numpy as np

from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor


class Embedding(Module):
    """ids (*) of ints in [0, num_embeddings) -> (*, embedding_dim): the rows of ``weight``
    (num_embeddings, embedding_dim), which starts N(0, 1) (PyTorch's default). The row
    ``padding_idx`` starts at zero and gets no gradient, so padding stays a zero vector."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings = checks.positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = checks.positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding expects padding_idx in [-{num_embeddings}, "
                                 f"{num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=np.float32))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, ids: Tensor) -> Tensor:
        if not isinstance(ids, Tensor) or ids.dtype.kind not in "iu":
            got = (f"{ids.dtype} input of shape {ids.shape}" if isinstance(ids, Tensor)
                   else type(ids).__name__)
            raise TypeError(f"{self._describe()} expects a Tensor of integer ids, got {got}")
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
