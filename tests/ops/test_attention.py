"""Scaled dot-product attention: shapes, masks, causality and the 1/√d scaling."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn, seeds

sdpa = F.scaled_dot_product_attention


def test_shapes_q_n_by_d_k_m_by_d_v_m_by_v_give_n_by_v():
    assert sdpa(dlcore.zeros(3, 4), dlcore.zeros(5, 4), dlcore.zeros(5, 2)).shape == (3, 2)
    batched = sdpa(dlcore.zeros(2, 8, 3, 4), dlcore.zeros(2, 8, 5, 4), dlcore.zeros(2, 8, 5, 6))
    assert batched.shape == (2, 8, 3, 6)


def test_matches_the_formula():
    q, k, v = randn((2, 3, 4), 0), randn((2, 5, 4), 1), randn((2, 5, 6), 2)
    scores = q.data @ k.data.transpose(0, 2, 1) / 2.0
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(sdpa(q, k, v).data, weights @ v.data, rtol=1e-12)


def test_causal_output_at_t_ignores_tokens_after_t():
    q, k, v = (randn((1, 6, 4), seed) for seed in range(3))
    before = sdpa(q, k, v, is_causal=True).data
    for t in (k, v, q):
        t.data[:, 4:] += 10.0
    after = sdpa(q, k, v, is_causal=True).data
    np.testing.assert_allclose(after[:, :4], before[:, :4], rtol=1e-12)
    assert not np.allclose(after[:, 4:], before[:, 4:])


def test_bool_mask_equals_an_additive_minus_infinity_mask():
    q, k, v = randn((3, 4), 0), randn((5, 4), 1), randn((5, 2), 2)
    allowed = np.random.default_rng(0).random((3, 5)) > 0.3
    allowed[:, 0] = True
    additive = np.where(allowed, 0.0, -np.inf)
    np.testing.assert_allclose(sdpa(q, k, v, attn_mask=allowed).data,
                               sdpa(q, k, v, attn_mask=additive).data)


def test_variance_of_q_dot_k_is_d_and_scaling_brings_it_to_1():
    d = 64
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((20_000, d)), rng.standard_normal((20_000, d))
    dots = (q * k).sum(axis=1)
    assert dots.var() == pytest.approx(d, rel=0.05)
    assert (dots / math.sqrt(d)).var() == pytest.approx(1.0, rel=0.05)


@given(length=st.sampled_from([1, 3]), source=st.sampled_from([1, 4]), causal=st.booleans(),
       seed=seeds)
def test_gradients(length, source, causal, seed):
    if causal and length != source:
        source = length
    q, k = randn((2, length, 3), seed), randn((2, source, 3), seed + 1)
    v = randn((2, source, 2), seed + 2)
    assert gradcheck(lambda *t: sdpa(*t, is_causal=causal), q, k, v)
    bias = np.random.default_rng(seed).standard_normal((length, source))
    assert gradcheck(lambda *t: sdpa(*t, attn_mask=bias, scale=0.3), q, k, v)


def test_errors():
    with pytest.raises(ValueError, match="do not fit"):
        sdpa(dlcore.zeros(3, 4), dlcore.zeros(5, 3), dlcore.zeros(5, 2))
    with pytest.raises(ValueError, match="not both"):
        sdpa(dlcore.zeros(3, 4), dlcore.zeros(3, 4), dlcore.zeros(3, 2),
             attn_mask=np.ones((3, 3), bool), is_causal=True)
