"""matmul (batched, broadcasting, 1-D rules) and linear."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import SIDES, randn, seeds

MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 7)), ((7,), (4, 7, 2)),
    ((4, 2, 3), (3,)), ((4, 2, 3), (4, 3, 5)), ((1, 2, 3), (4, 3, 5)), ((2, 1, 2, 3), (5, 3, 2)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_matches_numpy_and_its_gradient(shape_a, shape_b):
    a, b = randn(shape_a, 0), randn(shape_b, 1)
    np.testing.assert_allclose((a @ b).data, a.data @ b.data)
    assert gradcheck(lambda x, y: x @ y, a, b)


def test_batched_matmul_shapes():
    assert (dlcore.zeros(5, 2, 3) @ dlcore.zeros(5, 3, 4)).shape == (5, 2, 4)


def test_matmul_with_an_ndarray_on_either_side():
    x = dlcore.ones(2, 3)
    assert (x @ np.ones((3, 1), dtype=np.float32)).tolist() == [[3], [3]]
    assert (np.ones((1, 2), dtype=np.float32) @ x).tolist() == [[2, 2, 2]]


def test_matmul_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 3\) do not multiply"):
        dlcore.zeros(2, 3) @ dlcore.zeros(2, 3)


@given(batch=st.sampled_from([(), (1,), (3,), (2, 3)]), n_in=SIDES, n_out=SIDES,
       bias=st.booleans(), seed=seeds)
def test_linear_is_x_wt_plus_b(batch, n_in, n_out, bias, seed):
    x, w = randn(batch + (n_in,), seed), randn((n_out, n_in), seed + 1)
    b = randn((n_out,), seed + 2) if bias else None
    expected = x.data @ w.data.T + (b.data if bias else 0)
    np.testing.assert_allclose(F.linear(x, w, b).data, expected, rtol=1e-12)
    inputs = (x, w, b) if bias else (x, w)
    assert gradcheck(lambda *ts: F.linear(*ts), *inputs)


def test_linear_refuses_ints_and_mismatched_features():
    w = dlcore.zeros(4, 8)
    with pytest.raises(TypeError, match="floating-point input, got dtype int64"):
        F.linear(dlcore.zeros(3, 8, dtype=np.int64), w)
    with pytest.raises(ValueError, match=r"input of shape \(3, 7\).*weight of shape \(4, 8\)"):
        F.linear(dlcore.zeros(3, 7), w)
