"""Scaled dot-product attention, composed from differentiable ops."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .activation import softmax
from .dropout import dropout


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """``softmax(Q Kᵀ · scale + mask) V``: Q (…, L, d), K (…, S, d), V (…, S, v) -> (…, L, v).

    ``scale`` defaults to ``1/√d``, keeping the scores' variance near 1 for unit-variance
    inputs. ``attn_mask``: bool (True = may attend) or float (added to the scores), broadcast to
    (…, L, S). ``is_causal``: position i attends to positions ≤ i only.
    """
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {query.shape}, key {key.shape} "
                         f"and value {value.shape} do not fit (…, L, d), (…, S, d), (…, S, v)")
    if is_causal and attn_mask is not None:
        raise ValueError("pass either attn_mask or is_causal=True, not both")
    scores = (query @ key.transpose(-2, -1)) * (1 / math.sqrt(query.shape[-1])
                                                if scale is None else scale)
    if is_causal:
        length, source = scores.shape[-2:]
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == np.bool_:
            scores = scores.masked_fill(~mask, -np.inf)
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return weights @ value
