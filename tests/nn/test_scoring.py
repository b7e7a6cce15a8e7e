"""Attention scorings (additive, dot, general) with valid-length masks: values against NumPy,
gradients by finite differences on ragged lengths, no NaN from a row with no valid key."""
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn.scoring import MASKED, masked_softmax
from dlcore.testing import gradcheck


def _numpy_softmax(scores, lengths):
    keep = np.arange(scores.shape[-1]) < np.asarray(lengths).reshape(len(scores), -1, 1)
    shifted = np.where(keep, scores, MASKED)
    e = np.exp(shifted - shifted.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_masked_softmax_keeps_the_valid_keys_and_a_fully_masked_row_is_not_nan():
    scores = np.random.default_rng(0).normal(size=(3, 2, 5)).astype(np.float32)
    weights = masked_softmax(dlcore.tensor(scores), np.array([5, 2, 0])).numpy()
    np.testing.assert_allclose(weights, _numpy_softmax(scores, [5, 2, 0]), rtol=1e-5)
    assert np.all(weights[1, :, 2:] == 0) and np.allclose(weights[1].sum(-1), 1)
    np.testing.assert_allclose(weights[2], 0.2)  # no valid key: even, finite
    per_query = masked_softmax(dlcore.tensor(scores), np.array([[1, 3]] * 3)).numpy()
    assert np.all(per_query[:, 0, 1:] == 0) and np.all(per_query[:, 1, 3:] == 0)
    with pytest.raises(ValueError, match="valid_lens must have shape \\(3,\\) or \\(3, 2\\)"):
        masked_softmax(dlcore.tensor(scores), np.array([1, 2]))


def _inputs(q_size=4, k_size=4, dtype=np.float64):
    rng = np.random.default_rng(1)
    return (rng.normal(size=(2, 3, q_size)).astype(dtype), rng.normal(size=(2, 7, k_size))
            .astype(dtype), rng.normal(size=(2, 7, 5)).astype(dtype))


def test_each_scoring_matches_its_formula():
    q, k, v = _inputs()
    lengths = np.array([7, 3])
    additive = nn.AdditiveAttention(4, 4, 6)
    W_q, W_k, w_v = (m.weight.data for m in (additive.W_q, additive.W_k, additive.w_v))
    expected_scores = {
        "additive": (np.tanh((q @ W_q.T)[:, :, None] + (k @ W_k.T)[:, None]) @ w_v.T)[..., 0],
        "dot": q @ k.transpose(0, 2, 1) / 2.0,
    }
    general = nn.GeneralAttention(4, 4)
    expected_scores["general"] = q @ (k @ general.W.weight.data.T).transpose(0, 2, 1)
    for name, module in (("additive", additive), ("dot", nn.DotProductAttention()),
                         ("general", general)):
        context, weights = module(*(dlcore.tensor(a.astype(np.float32)) for a in (q, k, v)),
                                  lengths)
        expected = _numpy_softmax(expected_scores[name], lengths)
        np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(context.numpy(), expected @ v, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["additive", "dot", "general"])
def test_gradients_by_finite_differences_on_ragged_lengths(name):
    q, k, v = (dlcore.tensor(a).double().requires_grad_() for a in _inputs())
    module = {"additive": lambda: nn.AdditiveAttention(4, 4, 3), "dot": nn.DotProductAttention,
              "general": lambda: nn.GeneralAttention(4, 4)}[name]()
    module.to(np.float64)
    lengths = np.array([[7, 1, 4], [2, 0, 5]])  # per query, one with no valid key
    assert gradcheck(lambda q, k, v, *params: module(q, k, v, lengths)[0], q, k, v,
                     *module.parameters())


def test_bad_shapes_are_named():
    q, k, v = (dlcore.tensor(a.astype(np.float32)) for a in _inputs(k_size=3))
    with pytest.raises(ValueError, match="DotProductAttention needs queries and keys of one "
                                         "size, got 4 and 3"):
        nn.DotProductAttention()(q, k, v)
    with pytest.raises(ValueError, match="expects keys of shape \\(N, length, features\\)"):
        nn.AdditiveAttention(4, 3, 2)(q, k[0], v)
