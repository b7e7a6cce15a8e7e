"""ReLU kernels: the C backend equals the reference, on every path and thread count."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcore.kernels import _c as C
from dlcore.kernels import reference as R


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 2**32 - 1))
def test_relu_matches_the_reference(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    x.flat[0] = 0.0                                       # the derivative at 0 is 0
    y = C.relu_forward(x)
    np.testing.assert_array_equal(y, R.relu_forward(x))
    dy = rng.standard_normal(shape, dtype=np.float32)
    np.testing.assert_array_equal(C.relu_backward(y, dy), R.relu_backward(y, dy))


def test_relu_on_every_path_and_thread_count_keeps_nan_and_non_contiguous_input(cpu_path,
                                                                                threads):
    x = np.random.default_rng(0).standard_normal((300, 700), dtype=np.float32)
    x[6, 6] = np.nan                                      # column 2 of the view
    view = x[:, ::3]                                      # non-contiguous
    threads(1)
    one = C.relu_forward(view)
    threads(2)
    np.testing.assert_array_equal(C.relu_forward(view), one)
    assert np.isnan(one[6, 2])
    np.testing.assert_array_equal(one, R.relu_forward(np.ascontiguousarray(view)))


def test_relu_refuses_bad_arguments():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        C.relu_forward(x.astype(np.float64))
    with pytest.raises(ValueError, match="differ in shape"):
        C.relu_backward(x, np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="ndarray"):
        C.relu_forward([1.0, 2.0])
