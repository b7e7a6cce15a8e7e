"""Hypothesis strategies and float64 inputs for the op tests."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import dlcore

SIDES = st.sampled_from([1, 2, 3, 7])


def shapes(min_dims: int = 1, max_dims: int = 3):
    """Shapes whose sides include 1 (broadcast/batch 1), 3 and 7 (odd, non-square)."""
    return st.lists(SIDES, min_size=min_dims, max_size=max_dims).map(tuple)


def broadcast_pairs():
    """Two shapes that broadcast together (and their broadcast result)."""
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


seeds = st.integers(0, 2**16)


def randn(shape, seed: int = 0, requires_grad: bool = True, low: float | None = None):
    """A float64 tensor of normal samples (shifted to be >= ``low`` when given)."""
    data = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        data = low + np.abs(data)
    return dlcore.tensor(data, dtype=np.float64, requires_grad=requires_grad)
