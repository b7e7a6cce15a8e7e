"""Multi-head attention (PyTorch's ``nn.MultiheadAttention``, same parameters and masks).

Query, key and value are projected by the three row blocks of ``in_proj_weight`` (3E, E), split
into ``num_heads`` heads of size E / num_heads, attended with ``softmax(q kᵀ / √d_head + mask) v``
and merged back through ``out_proj``. Masks follow PyTorch: a boolean mask marks positions that
may NOT be attended (True = masked), a float mask is added to the scores. Masks are constants:
no gradient flows into a float mask.
"""
from __future__ import annotations

import math

import numpy as np

from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore.nn.linear import Linear
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor


def causal_mask(size: int) -> np.ndarray:
    """(size, size) float mask with -inf above the diagonal: position t sees positions <= t."""
    return np.triu(np.full((size, size), -np.inf, dtype=np.float32), k=1)


def _additive(mask, name: str, dtype: np.dtype) -> np.ndarray:
    """A boolean (True = masked) or float mask as a float array to add to the scores."""
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == np.bool_:
        return np.where(array, -np.inf, 0.0).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention {name} must be bool or float, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """forward(query, key, value, ...) -> (output, weights or None).

    query: (L, N, E), key/value: (S, N, E) — or (N, L, E), (N, S, E) with ``batch_first`` — or
    unbatched (L, E), (S, E). key_padding_mask: (N, S) or (S,) unbatched; attn_mask: (L, S) or
    (N * num_heads, L, S). output: like query; weights: (N, L, S) averaged over heads, or
    (N, num_heads, L, S) with ``average_attn_weights=False`` (batch axis dropped when unbatched).
    ``is_causal=True`` without an ``attn_mask`` applies the causal mask (PyTorch requires the
    mask itself; here the flag is enough). The weights are computed here rather than by
    ``F.scaled_dot_product_attention`` because ``need_weights`` returns them; with dropout they
    are the weights actually applied (after dropout), as in PyTorch.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False):
        super().__init__()
        checks.positive_int("MultiheadAttention", "embed_dim", embed_dim)
        checks.positive_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                             f"num_heads={num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention expects dropout in [0, 1], got {dropout!r}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=np.float32))
        init.xavier_uniform_(self.in_proj_weight)
        self.register_parameter("in_proj_bias", Parameter(np.zeros(3 * embed_dim, dtype=np.float32))
                                if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        batched = self._check_inputs(query, key, value)
        q, k, v = (self._batch_first(t, batched) for t in (query, key, value))
        (n, length, _), source = q.shape, k.shape[1]
        mask = self._mask(key_padding_mask, attn_mask, is_causal, n, length, source, batched,
                          q.dtype)

        weight_q, weight_k, weight_v = self.in_proj_weight.chunk(3, dim=0)
        bias_q, bias_k, bias_v = (self.in_proj_bias.chunk(3, dim=0) if self.in_proj_bias is not None
                                  else (None, None, None))
        q = self._split_heads(F.linear(q, weight_q, bias_q))
        k = self._split_heads(F.linear(k, weight_k, bias_k))
        v = self._split_heads(F.linear(v, weight_v, bias_v))

        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if mask is not None:
            scores = scores + mask
        weights = F.dropout(F.softmax(scores, dim=-1), self.dropout, training=self.training)
        heads = weights @ v  # (N, heads, L, head_dim)
        output = self.out_proj(heads.transpose(1, 2).reshape(n, length, self.embed_dim))

        if not batched:
            output = output.squeeze(0)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        if not need_weights:
            return output, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return output, (weights if batched else weights.squeeze(0))

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        """Validates types and shapes; returns whether the inputs are batched."""
        for t in (query, key, value):
            self._check_input(t, self.in_proj_weight.dtype)
        e = self.embed_dim
        shapes = tuple(tuple(t.shape) for t in (query, key, value))
        described = f"query {shapes[0]}, key {shapes[1]}, value {shapes[2]}"
        if any(len(s) != len(shapes[0]) or len(s) not in (2, 3) or s[-1] != e for s in shapes):
            raise ValueError(f"{self._describe()} expects query, key and value of shape "
                             f"(L, N, {e}) or unbatched (L, {e}), got {described}")
        batch_axis = 0 if self.batch_first else 1
        batched = len(shapes[0]) == 3
        if shapes[1][:-1] != shapes[2][:-1] or (
                batched and shapes[0][batch_axis] != shapes[1][batch_axis]):
            raise ValueError(f"{self._describe()} expects key and value of one shape and one batch "
                             f"size for all three, got {described}")
        return batched

    def _batch_first(self, t: Tensor, batched: bool) -> Tensor:
        """(L, N, E), (N, L, E) or (L, E) -> (N, L, E)."""
        if not batched:
            return t.unsqueeze(0)
        return t if self.batch_first else t.transpose(0, 1)

    def _split_heads(self, t: Tensor) -> Tensor:
        """(N, L, E) -> (N, heads, L, head_dim)."""
        n, length, _ = t.shape
        return t.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _mask(self, key_padding_mask, attn_mask, is_causal: bool, n: int, length: int,
              source: int, batched: bool, dtype: np.dtype) -> np.ndarray | None:
        """Both masks merged into one additive array broadcastable to (N, heads, L, S)."""
        mask = None
        if attn_mask is None and is_causal:
            if length != source:
                raise ValueError(f"{self._describe()} is_causal needs equal query and key lengths, "
                                 f"got L={length}, S={source}")
            attn_mask = causal_mask(length)
        if attn_mask is not None:
            mask = _additive(attn_mask, "attn_mask", dtype)
            if mask.shape == (length, source):
                pass
            elif mask.shape == (n * self.num_heads, length, source):
                mask = mask.reshape(n, self.num_heads, length, source)
            else:
                raise ValueError(f"{self._describe()} expects attn_mask of shape ({length}, "
                                 f"{source}) or ({n * self.num_heads}, {length}, {source}), "
                                 f"got {mask.shape}")
        if key_padding_mask is not None:
            padding = _additive(key_padding_mask, "key_padding_mask", dtype)
            expected = (n, source) if batched else (source,)
            if padding.shape != expected:
                raise ValueError(f"{self._describe()} expects key_padding_mask of shape "
                                 f"{expected}, got {padding.shape}")
            padding = padding.reshape(n, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
