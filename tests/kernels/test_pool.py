"""C max / average / global-average pooling against the NumPy reference: drawn geometries
(sizes 1 and primes, non-square windows, stride > window, padding up to half the window),
PyTorch's argmax convention, the notes' worked example, 1 vs 2 threads bit-identical, and the
vectorised 2x2 stride-2 max pool (ties, NaN, row tails) on every CPU path.

Tolerances: max pooling and its indices are exact; averages are float32 sums of at most a few
dozen terms, compared to the float64 reference at rtol = atol = 1e-5."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("dlcore.kernels._c")
from dlcore.kernels import _c as C                                    # noqa: E402
from dlcore.kernels import reference as R                             # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


windows = st.fixed_dictionaries({
    "n": st.sampled_from([1, 2]), "c": st.sampled_from([1, 3]),
    "h": st.sampled_from([1, 2, 3, 5, 7, 11]), "w": st.sampled_from([1, 2, 3, 5, 7, 11]),
    "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 5), "sw": st.integers(1, 5),
    "ph": st.integers(0, 2), "pw": st.integers(0, 2),
})


def pool_case(g, seed):
    """(x, kernel_size, stride, padding) for a drawn geometry, or None when it does not fit."""
    if (2 * g["ph"] > g["kh"] or 2 * g["pw"] > g["kw"] or
            g["h"] + 2 * g["ph"] < g["kh"] or g["w"] + 2 * g["pw"] < g["kw"]):
        return None
    x = np.random.default_rng(seed).standard_normal((g["n"], g["c"], g["h"], g["w"]),
                                                    dtype=np.float32)
    return x, (g["kh"], g["kw"]), (g["sh"], g["sw"]), (g["ph"], g["pw"])


@settings(max_examples=60, deadline=None,          # the path fixture holds for all examples
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(windows, st.integers(0, 2**32 - 1))
def test_max_pool_values_indices_and_gradient_match_the_reference(cpu_path, g, seed):
    case = pool_case(g, seed)
    if case is None:
        return
    x, k, s, p = case
    y, idx = C.max_pool2d_forward(x, k, s, p)
    y_ref, idx_ref = R.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape, dtype=np.float32)
    np.testing.assert_allclose(C.max_pool2d_backward(dy, idx, x.shape),
                               R.max_pool2d_backward(dy.astype(np.float64), idx, x.shape),
                               **TOL)


@settings(max_examples=60, deadline=None)
@given(windows, st.booleans(), st.integers(0, 2**32 - 1))
def test_avg_pool_and_gradient_match_the_reference(g, count_include_pad, seed):
    case = pool_case(g, seed)
    if case is None:
        return
    x, k, s, p = case
    y = C.avg_pool2d_forward(x, k, s, p, count_include_pad)
    np.testing.assert_allclose(
        y, R.avg_pool2d_forward(x.astype(np.float64), k, s, p, count_include_pad), **TOL)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape, dtype=np.float32)
    np.testing.assert_allclose(
        C.avg_pool2d_backward(dy, x.shape, k, s, p, count_include_pad),
        R.avg_pool2d_backward(dy.astype(np.float64), x.shape, k, s, p, count_include_pad),
        **TOL)


@pytest.mark.parametrize("h, w", [(2, 2), (5, 9), (28, 28), (7, 37), (4, 66)])
def test_2x2_max_pool_with_ties_and_nans_matches_the_reference(cpu_path, h, w):
    """Widths around the 16-output vector step; odd sizes leave a row / column no window
    covers; ties go to the first cell, a NaN wins over numbers (numpy.argmax)."""
    rng = np.random.default_rng(h * 100 + w)
    x = rng.integers(-2, 3, (2, 3, h, w)).astype(np.float32)       # many ties
    x[rng.random(x.shape) < 0.05] = np.nan
    y, idx = C.max_pool2d_forward(x, 2, 2)
    y_ref, idx_ref = R.max_pool2d_forward(x, 2, 2, 0)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    np.testing.assert_array_equal(C.max_pool2d_backward(dy, idx, x.shape),
                                  R.max_pool2d_backward(dy.astype(np.float64), idx, x.shape))


@pytest.mark.parametrize("k, s, p", [(3, 1, 1), (3, 2, 1), ((2, 3), (3, 2), (1, 0)),
                                     ((1, 4), (1, 3), (0, 2)), (3, 3, 0)])
@pytest.mark.parametrize("w", [1, 3, 16, 17, 40])
def test_max_pool_any_window_with_ties_nans_and_all_minus_inf(cpu_path, k, s, p, w):
    """The vectorised interior span of any window geometry (and its clipped edges) keeps the
    scalar order: ties to the first cell, a NaN over numbers, and a window of -inf only points
    at its first real cell (PyTorch's index), never at padding."""
    rng = np.random.default_rng(w)
    x = rng.integers(-2, 3, (2, 3, 7, w)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[1, 2] = -np.inf
    kw = k if isinstance(k, int) else k[1]
    pw = p if isinstance(p, int) else p[1]
    if w + 2 * pw < kw:
        return
    y, idx = C.max_pool2d_forward(x, k, s, p)
    y_ref, idx_ref = R.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.min() >= 0 and idx.max() < 7 * w


def test_max_pool_backward_scatters_indices_from_other_windows(cpu_path):
    """Indices outside their own 2x2 block (any plane position is legal) are summed."""
    dy = np.ones((1, 1, 2, 2), np.float32)
    idx = np.array([[[[0, 0], [15, 5]]]], np.int64)
    dx = C.max_pool2d_backward(dy, idx, (1, 1, 4, 4))
    want = np.zeros(16, np.float32)
    want[[0, 15, 5]] = [2, 1, 1]
    np.testing.assert_array_equal(dx.reshape(-1), want)
    with pytest.raises(ValueError, match="outside"):
        C.max_pool2d_backward(dy, idx + 16, (1, 1, 4, 4))


def test_worked_example_from_the_notes():
    """FEATURES §11, Ex. 4.4: the 2x2 max and average pools of the conv output Y."""
    y = np.array([[0, 5, 8, 0], [6, 10, 1, 5], [4, 0, 2, 11], [0, 1, 11, 3]],
                 np.float32)[None, None]
    pooled, idx = C.max_pool2d_forward(y, 2)
    np.testing.assert_array_equal(pooled[0, 0], [[10, 8], [4, 11]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 2], [8, 11]])     # flat h*W + w
    np.testing.assert_array_equal(C.avg_pool2d_forward(y, 2)[0, 0],
                                  [[21 / 4, 7 / 2], [5 / 4, 27 / 4]])


def test_max_pool_ties_go_to_the_first_cell_and_padding_never_wins():
    x = np.full((1, 1, 3, 3), -5.0, np.float32)                      # all ties, all < 0 pad
    y, idx = C.max_pool2d_forward(x, 3, 1, 1)
    np.testing.assert_array_equal(y, -5.0)
    # each window's first real cell in row-major order
    np.testing.assert_array_equal(idx[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])


def test_avg_pool_divisor_with_and_without_padding():
    x = np.ones((1, 1, 2, 2), np.float32)
    np.testing.assert_array_equal(C.avg_pool2d_forward(x, 2, 1, 1, True)[0, 0],
                                  np.full((3, 3), 0.25) * [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(C.avg_pool2d_forward(x, 2, 1, 1, False), 1.0)


def test_global_average_pool_and_its_gradient():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(C.global_avg_pool2d_forward(x), [[5.5, 17.5]])
    dx = C.global_avg_pool2d_backward(np.array([[12.0, 24.0]], np.float32), x.shape)
    np.testing.assert_array_equal(dx[0, 0], 1.0)
    np.testing.assert_array_equal(dx[0, 1], 2.0)


def test_one_and_two_threads_give_bit_identical_results():
    x = np.random.default_rng(5).standard_normal((8, 16, 20, 21), dtype=np.float32)
    before = C.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            C.set_num_threads(n)
            y, idx = C.max_pool2d_forward(x, 3, 2, 1)
            a = C.avg_pool2d_forward(x, 2)
            g = C.global_avg_pool2d_forward(x)
            results.append((y, idx, C.max_pool2d_backward(y, idx, x.shape), a,
                            C.avg_pool2d_backward(a, x.shape, 2), g,
                            C.global_avg_pool2d_backward(g, x.shape)))
    finally:
        C.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
