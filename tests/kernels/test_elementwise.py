"""Elementwise kernels (ReLU, leaky ReLU, axpby): the C backend equals the reference, on every path and
thread count."""
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


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 2**32 - 1),
       st.sampled_from([0.2, 0.01, 0.0, -0.5, 1.5]))
def test_leaky_relu_matches_the_reference(shape, seed, slope):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    x.flat[0] = 0.0                                       # 0 takes the slope, as in PyTorch
    np.testing.assert_array_equal(C.leaky_relu_forward(x, slope), R.leaky_relu_forward(x, slope))
    dy = rng.standard_normal(shape, dtype=np.float32)
    np.testing.assert_array_equal(C.leaky_relu_backward(x, dy, slope),
                                  R.leaky_relu_backward(x, dy, slope))


def test_leaky_relu_on_every_path_and_thread_count(cpu_path, threads):
    x = np.random.default_rng(1).standard_normal((300, 700), dtype=np.float32)
    x[6, 6] = np.nan
    view = x[:, ::3]
    dy = np.cos(view)
    results = []
    for n in (1, 2):
        threads(n)
        results.append((C.leaky_relu_forward(view, 0.2), C.leaky_relu_backward(view, dy, 0.2)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
    assert np.isnan(results[0][0][6, 2])
    contiguous = np.ascontiguousarray(view)
    np.testing.assert_array_equal(results[0][0], R.leaky_relu_forward(contiguous, 0.2))
    np.testing.assert_array_equal(results[0][1], R.leaky_relu_backward(contiguous, dy, 0.2))
    with pytest.raises(ValueError, match="differ in shape"):
        C.leaky_relu_backward(view, dy.T, 0.2)


def test_elementwise_kernels_keep_a_0d_shape():
    x, dy = np.array(-2.0, np.float32), np.array(3.0, np.float32)
    for y in (C.relu_forward(x), C.add_relu_forward(x, dy), C.relu_backward(dy, dy)):
        assert y.shape == ()
    assert C.add_relu_forward(x, dy) == 1.0 and C.relu_backward(dy, dy) == 3.0


def test_relu_refuses_bad_arguments():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        C.relu_forward(x.astype(np.float64))
    with pytest.raises(ValueError, match="differ in shape"):
        C.relu_backward(x, np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="ndarray"):
        C.relu_forward([1.0, 2.0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 2**32 - 1),
       st.sampled_from([(-0.1, 1.0), (0.9, 0.0), (0.1, 0.9), (1.0, -2.5)]))
def test_axpby_matches_the_reference(shape, seed, coefficients):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.standard_normal(shape, dtype=np.float32)
    expected = R.axpby(x, y.copy(), *coefficients)
    out = C.axpby(x, y, *coefficients)
    assert out is y                                       # updated in place
    # float32 rounding of the same two products and one sum; 1e-6 leaves room for a compiler
    # that fuses them (aarch64's default FMA contraction)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)


def test_axpby_on_every_thread_count_ignores_y_when_beta_is_zero(cpu_path, threads):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(300_001, dtype=np.float32)   # several blocks and a ragged tail
    y1, y2 = np.full_like(x, np.nan), np.full_like(x, np.nan)
    threads(1)
    C.axpby(x, y1, 2.0, 0.0)
    threads(2)
    C.axpby(x, y2, 2.0, 0.0)
    np.testing.assert_array_equal(y1, 2.0 * x)
    np.testing.assert_array_equal(y2, y1)


def test_axpby_refuses_bad_arguments():
    y = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="differ in shape"):
        C.axpby(np.ones((3, 2), np.float32), y)
    with pytest.raises(ValueError, match="C-contiguous"):
        C.axpby(np.ones((3, 2), np.float32), y.T)
    with pytest.raises(TypeError, match="float32"):
        C.axpby(np.ones((2, 3)), y)
    with pytest.raises(TypeError, match="float32"):
        C.axpby(np.ones((2, 3), np.float32), y.astype(np.float64))
    with pytest.raises(ValueError, match="overlap"):
        C.axpby(y, y)
    read_only = np.zeros(3, np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        C.axpby(np.ones(3, np.float32), read_only)
    with pytest.raises(ValueError, match="writeable"):
        R.axpby(np.ones(3, np.float32), read_only)


def _close_to_the_reference(x):
    """GELU and its slope within float32 rounding of the exact (erfc, float64) values: 1e-6
    absolute, and relative to the value in the far negative tail where both are tiny."""
    y, slope = C.gelu_forward(x)
    expected_y, expected_slope = R.gelu_forward(x)
    np.testing.assert_allclose(y, expected_y, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(slope, expected_slope, rtol=2e-5, atol=1e-6)
    return y, slope


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 2**32 - 1),
       st.floats(0.1, 8.0))
def test_gelu_matches_the_reference(shape, seed, scale):
    rng = np.random.default_rng(seed)
    _close_to_the_reference((rng.standard_normal(shape) * scale).astype(np.float32))


def test_gelu_across_its_range_on_every_path_and_thread_count(cpu_path, threads):
    x = np.concatenate([np.linspace(-13, 13, 200_001), [0.0, -0.0, 1e-30, -1e-30, 88, -88]])
    x = x.astype(np.float32)
    threads(1)
    y, slope = _close_to_the_reference(x)
    tail = (x < -3) & (x > -12)  # the tail keeps its relative accuracy
    expected_y, _ = R.gelu_forward(x)
    np.testing.assert_allclose(y[tail], expected_y[tail], rtol=2e-5)
    threads(2)
    again = C.gelu_forward(x)
    np.testing.assert_array_equal(again[0], y)
    np.testing.assert_array_equal(again[1], slope)
    view = x[:199_997].reshape(-1, 7)[:, ::2]  # non-contiguous
    np.testing.assert_array_equal(C.gelu_forward(view)[0],
                                  C.gelu_forward(np.ascontiguousarray(view))[0])
    special = C.gelu_forward(np.array([np.nan, np.inf], np.float32))
    assert np.isnan(special[0][0]) and special[0][1] == np.inf


def test_gelu_refuses_bad_arguments():
    with pytest.raises(TypeError, match="float32"):
        C.gelu_forward(np.ones(3))
    assert C.gelu_forward(np.array(1.0, np.float32))[0].shape == ()
