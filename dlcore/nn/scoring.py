"""Attention pooling with a scoring function (d2l §11.3): additive (Bahdanau), dot product
(scaled) and general (Luong's bilinear ``qᵀ W k``), over keys with valid lengths.

``forward(queries (N, Q, dq), keys (N, K, dk), values (N, K, dv), valid_lens)`` →
(context (N, Q, dv), weights (N, Q, K)). ``valid_lens`` (N,) or (N, Q) counts the keys each
query may see; the others get a score of :data:`MASKED` before the softmax, a finite value, so
a row with no valid key at all spreads its weight evenly instead of giving NaN.
"""
from __future__ import annotations

import math

import numpy as np

from dlcore import checks
from dlcore.nn import functional as F
from dlcore.nn.linear import Linear
from dlcore.nn.module import Module
from dlcore.tensor import Tensor

#: The score of a masked key: exp(MASKED - max) underflows to 0 beside any real score.
MASKED = -1e6


def lengths_array(valid_lens) -> np.ndarray | None:
    """Valid lengths given as a Tensor, an array or a list, as an ndarray (None stays None)."""
    if valid_lens is None:
        return None
    return np.asarray(valid_lens.data if isinstance(valid_lens, Tensor) else valid_lens)


def masked_softmax(scores: Tensor, valid_lens=None) -> Tensor:
    """Softmax over the last axis of ``scores`` (N, Q, K) keeping, in each row, only the first
    ``valid_lens`` keys ((N,) or (N, Q); None: all)."""
    if valid_lens is None:
        return F.softmax(scores, dim=-1)
    lengths = lengths_array(valid_lens)
    n, q, k = scores.shape
    if lengths.shape not in ((n,), (n, q)):
        raise ValueError(f"valid_lens must have shape ({n},) or ({n}, {q}) for scores of shape "
                         f"{tuple(scores.shape)}, got {lengths.shape}")
    lengths = lengths.reshape(n, -1, 1)
    keep = np.arange(k) < lengths  # (N, 1 or Q, K)
    return F.softmax(scores.masked_fill(~np.broadcast_to(keep, (n, q, k)), MASKED), dim=-1)


class _ScoredAttention(Module):
    """Weights = masked softmax of ``score(queries, keys)``; context = weights @ values."""

    def score(self, queries: Tensor, keys: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens=None):
        for name, t in (("queries", queries), ("keys", keys), ("values", values)):
            if t.ndim != 3:
                raise ValueError(f"{type(self).__name__} expects {name} of shape (N, length, "
                                 f"features), got {tuple(t.shape)}")
        if keys.shape[:2] != values.shape[:2] or queries.shape[0] != keys.shape[0]:
            raise ValueError(f"{type(self).__name__}: queries {tuple(queries.shape)}, keys "
                             f"{tuple(keys.shape)} and values {tuple(values.shape)} do not "
                             f"share a batch and a key length")
        weights = masked_softmax(self.score(queries, keys), valid_lens)
        return weights @ values, weights


class AdditiveAttention(_ScoredAttention):
    """``score(q, k) = w_vᵀ tanh(W_q q + W_k k)`` (Bahdanau et al. 2014): queries and keys of
    different sizes meet in a hidden space of ``num_hiddens``."""

    def __init__(self, query_size: int, key_size: int, num_hiddens: int):
        super().__init__()
        for name, value in (("query_size", query_size), ("key_size", key_size),
                            ("num_hiddens", num_hiddens)):
            checks.positive_int("AdditiveAttention", name, value)
        self.W_q = Linear(query_size, num_hiddens, bias=False)
        self.W_k = Linear(key_size, num_hiddens, bias=False)
        self.w_v = Linear(num_hiddens, 1, bias=False)

    def score(self, queries, keys):
        return self.score_projected(self.W_q(queries), self.W_k(keys))

    def score_projected(self, queries, keys):
        """Scores from already projected queries (N, Q, h) and keys (N, K, h): a decoder
        projects the encoder's keys once per sentence, not at every step."""
        features = (queries.unsqueeze(2) + keys.unsqueeze(1)).tanh()  # (N, Q, K, h)
        return self.w_v(features).squeeze(-1)


class DotProductAttention(_ScoredAttention):
    """``score(q, k) = qᵀk / √d`` (scaled, Vaswani et al. 2017; ``scaled=False``: Luong's
    plain dot): queries and keys of one size d."""

    def __init__(self, scaled: bool = True):
        super().__init__()
        self.scaled = scaled

    def score(self, queries, keys):
        if queries.shape[-1] != keys.shape[-1]:
            raise ValueError(f"DotProductAttention needs queries and keys of one size, got "
                             f"{queries.shape[-1]} and {keys.shape[-1]}")
        scores = queries @ keys.transpose(1, 2)
        return scores * (1 / math.sqrt(queries.shape[-1])) if self.scaled else scores


class GeneralAttention(_ScoredAttention):
    """``score(q, k) = qᵀ W k`` (Luong et al. 2015's "general"): a learnt bilinear form."""

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.W = Linear(key_size, query_size, bias=False)

    def score(self, queries, keys):
        return queries @ self.W(keys).transpose(1, 2)


SCORINGS = {"additive": AdditiveAttention, "dot": DotProductAttention,
            "general": GeneralAttention}
