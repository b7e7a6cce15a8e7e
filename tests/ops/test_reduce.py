"""Reductions over dims, with keepdim: values against NumPy and gradients."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
from dlcore.testing import gradcheck

from .strategies import randn, seeds, shapes


def dims_of(shape, draw):
    """None, one dim (maybe negative) or a tuple of dims of ``shape``."""
    ndim = len(shape)
    return draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple)))


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "logsumexp"])
@given(shape=shapes(), seed=seeds, keepdim=st.booleans(), data=st.data())
def test_reductions_match_numpy_and_their_gradients(op, shape, seed, keepdim, data):
    dim = dims_of(shape, data.draw)
    if op == "logsumexp" and dim is None:
        dim = -1
    reduced_dims = (dim,) if isinstance(dim, int) else dim or range(len(shape))
    count = np.prod([shape[d] for d in reduced_dims])
    if op in ("var", "std") and count < 2:
        return  # unbiased (co)variance of one value is undefined
    x = randn(shape, seed)
    axis = dim if not isinstance(dim, list) else tuple(dim)
    reference = {
        "sum": lambda a: a.sum(axis=axis, keepdims=keepdim),
        "mean": lambda a: a.mean(axis=axis, keepdims=keepdim),
        "var": lambda a: a.var(axis=axis, ddof=1, keepdims=keepdim),
        "std": lambda a: a.std(axis=axis, ddof=1, keepdims=keepdim),
        "logsumexp": lambda a: np.log(np.exp(a).sum(axis=axis, keepdims=keepdim)),
    }[op]
    result = getattr(x, op)(dim, keepdim=keepdim)
    np.testing.assert_allclose(result.data, reference(x.data), rtol=1e-10)
    assert gradcheck(lambda t: getattr(t, op)(dim, keepdim=keepdim), x)


def test_var_can_be_biased():
    x = dlcore.tensor([1.0, 3.0])
    assert x.var().item() == 2.0 and x.var(unbiased=False).item() == 1.0


@pytest.mark.parametrize("op", ["max", "min"])
@given(shape=shapes(), seed=seeds, keepdim=st.booleans(), data=st.data())
def test_max_min_over_a_dim_return_values_and_indices(op, shape, seed, keepdim, data):
    x = randn(shape, seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    values, indices = getattr(x, op)(dim, keepdim=keepdim)
    np.testing.assert_array_equal(values.data, getattr(np, op)(x.data, axis=dim, keepdims=keepdim))
    arg = np.argmax if op == "max" else np.argmin
    np.testing.assert_array_equal(indices.data, arg(x.data, axis=dim, keepdims=keepdim))
    assert gradcheck(lambda t: getattr(t, op)(dim, keepdim=keepdim).values, x)
    assert gradcheck(lambda t: getattr(t, op)(), x)


def test_max_shares_the_gradient_among_ties():
    x = dlcore.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0, 0.5, 0.5]


def test_argmax_picks_predictions():
    logits = dlcore.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    assert logits.argmax(1).tolist() == [1, 0] and logits.argmax().item() == 3
    assert logits.argmin(dim=1, keepdim=True).tolist() == [[2], [1]]


def test_out_of_range_dims_are_refused():
    with pytest.raises(IndexError, match="out of range"):
        dlcore.zeros(2, 3).sum(2)


class TestLogSumExp:
    def test_exceeds_the_max(self):
        a, b = 1.0, 2.0
        assert dlcore.tensor([a, b]).logsumexp(0).item() > max(a, b)

    def test_softplus_gap_at_one(self):
        # log(e^a + 1) - a at a = 1
        assert dlcore.tensor([1.0, 0.0]).logsumexp(0).item() - 1 == pytest.approx(0.3133, abs=1e-4)

    def test_sharpens_to_the_max(self):
        a, b, lam = 1.0, 1.5, 200.0
        assert dlcore.tensor([lam * a, lam * b]).logsumexp(0).item() / lam == pytest.approx(
            max(a, b), abs=1e-4)

    def test_is_stable_for_large_logits(self):
        value = dlcore.tensor([1000.0, 1000.0]).logsumexp(0).item()
        assert value == pytest.approx(1000 + math.log(2))

    def test_all_minus_infinity_gives_minus_infinity(self):
        assert dlcore.tensor([-np.inf, -np.inf]).logsumexp(0).item() == -np.inf
