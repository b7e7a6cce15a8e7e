"""dl_sgemm through the C backend: C = alpha * op(a) @ op(b) + beta * c, checked against the
NumPy reference evaluated in float64.

Tolerance, element-wise: |C - C64| <= eps32 * (4 * sqrt(k) + 4) * (|alpha| * |op(a)| @ |op(b)|
+ |beta| * |c|): float32 rounding of a k-term sum grows like sqrt(k) times the sum of the
magnitudes, plus a few roundings for alpha, beta and the final add.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlcore.kernels import _c, reference

pytestmark = pytest.mark.skipif(_c is None, reason="the C kernels are not built")

EPS32 = float(np.finfo(np.float32).eps)
# Sizes around the register tiles (4x8, 6x16, 8x32) and cache blocks (KC=256, MC=120..192).
# On AVX-512, products of up to 2·128³ multiply-adds, or with m or n < 32, skip packing and
# read A and B in place unless k > 1024, as does x·Wᵀ with 8 <= m <= 128 rows, m < n, beta 0
# (computed as (W·xᵀ)ᵀ): all paths are drawn.
EDGE_SIZES = [1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 32, 33, 47, 63, 65, 97]
K_SIZES = EDGE_SIZES + [255, 256, 257, 300, 1025]
M_SIZES = EDGE_SIZES + [119, 121, 191, 193]


def operands(rng, m, n, k, trans_a, trans_b):
    """Stored a, b (transposed when their op transposes) and c, uniform in [-1, 1]."""
    a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.uniform(-1, 1, (m, n)).astype(np.float32)
    return a, b, c


def assert_matches_reference(out, a, b, c, *, trans_a, trans_b, alpha, beta):
    """`out` equals the float64 reference within the tolerance of the module docstring."""
    f64 = lambda x: np.asarray(x, dtype=np.float64)
    c64 = None if c is None else f64(c)
    expected = reference.gemm(f64(a), f64(b), c64, trans_a=trans_a, trans_b=trans_b,
                              alpha=alpha, beta=beta)
    opa, opb = (a.T if trans_a else a), (b.T if trans_b else b)
    magnitude = abs(alpha) * (np.abs(f64(opa)) @ np.abs(f64(opb)))
    if c is not None and beta != 0:
        magnitude += abs(beta) * np.abs(c64)
    tol = EPS32 * (4 * np.sqrt(opa.shape[1]) + 4) * magnitude
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert np.all(np.abs(out - expected) <= tol), np.max(np.abs(out - expected) - tol)


# The cpu_path fixture only selects the path: nothing in it needs resetting between examples.
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.sampled_from(M_SIZES), n=st.sampled_from(EDGE_SIZES + [64, 100]),
       k=st.sampled_from(K_SIZES), trans_a=st.booleans(), trans_b=st.booleans(),
       alpha=st.sampled_from([1.0, -0.5, 0.0, 2.5]), beta=st.sampled_from([0.0, 1.0, -1.5]),
       seed=st.integers(0, 2**16))
def test_matches_reference(cpu_path, m, n, k, trans_a, trans_b, alpha, beta, seed):
    a, b, c = operands(np.random.default_rng(seed), m, n, k, trans_a, trans_b)
    c_in = c.copy()
    if beta == 0:
        c.fill(np.nan)  # beta == 0 must overwrite c without reading it
    out = _c.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta)
    assert out is c
    assert_matches_reference(out, a, b, c_in, trans_a=trans_a, trans_b=trans_b,
                             alpha=alpha, beta=beta)


@pytest.mark.parametrize("m, n, k", [(3, 4097, 5), (3, 4097, 1030), (200, 70, 600),
                                     (64, 256, 784)])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True),
                                              (True, True)])
def test_beyond_cache_blocks(cpu_path, m, n, k, trans_a, trans_b):
    """Several NC, KC and MC blocks: beta is applied once, then the K blocks accumulate."""
    a, b, c = operands(np.random.default_rng(1), m, n, k, trans_a, trans_b)
    out = _c.gemm(a, b, c.copy(), trans_a=trans_a, trans_b=trans_b, alpha=0.75, beta=-2.0)
    assert_matches_reference(out, a, b, c, trans_a=trans_a, trans_b=trans_b,
                             alpha=0.75, beta=-2.0)


def test_without_c_returns_a_new_array():
    a, b, _ = operands(np.random.default_rng(2), 9, 11, 7, False, False)
    out = _c.gemm(a, b)
    assert_matches_reference(out, a, b, None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0)


@pytest.mark.parametrize("beta, expected", [(0.0, 0.0), (2.0, 6.0)])
def test_k_zero_scales_c_by_beta(cpu_path, beta, expected):
    c = np.full((5, 6), 3.0 if beta else np.nan, dtype=np.float32)
    out = _c.gemm(np.empty((5, 0), np.float32), np.empty((0, 6), np.float32), c, beta=beta)
    np.testing.assert_array_equal(out, np.full((5, 6), expected, dtype=np.float32))


@pytest.mark.parametrize("m, n", [(0, 4), (4, 0), (0, 0)])
def test_empty_output(m, n):
    out = _c.gemm(np.ones((m, 3), np.float32), np.ones((3, n), np.float32))
    assert out.shape == (m, n) and out.dtype == np.float32


def test_strided_and_transposed_views(cpu_path):
    """Slices are read in place through lda, `.T` views as the transposed storage; a view
    with no unit stride is copied by the binding. All agree with the dense result."""
    rng = np.random.default_rng(3)
    big_a, big_b = (rng.uniform(-1, 1, (80, 150)).astype(np.float32) for _ in range(2))
    a_views = [big_a[3:36, 5:74], big_a[5:74, 3:36].T, big_a[3:36, 1:139:2]]  # (33, 69)
    b_views = [big_b[1:70, 2:47], big_b[2:47, 1:70].T, big_b[1:70, 3:93:2]]   # (69, 45)
    for a in a_views:
        for b in b_views:
            out = _c.gemm(a, b, alpha=1.5)
            assert_matches_reference(out, np.ascontiguousarray(a), np.ascontiguousarray(b), None,
                                     trans_a=False, trans_b=False, alpha=1.5, beta=0.0)


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, True)])
def test_thread_count_does_not_change_bits(cpu_path, threads, trans_a, trans_b):
    a, b, c = operands(np.random.default_rng(4), 301, 333, 517, trans_a, trans_b)
    results = []
    for threads in (1, 2):
        _c.set_num_threads(threads)
        results.append(_c.gemm(a, b, c.copy(), trans_a=trans_a, trans_b=trans_b, beta=0.5))
    np.testing.assert_array_equal(results[0], results[1])


def test_small_and_skinny_shapes_match_across_threads(threads):
    """The DL shapes (a batch of rows, a 10-way classifier) take the same path on any count;
    the last two are split between threads by columns and by rows without packing A."""
    rng = np.random.default_rng(5)
    for m, n, k in [(64, 256, 784), (256, 10, 256), (64, 64, 64), (24, 1000, 256),
                    (1000, 24, 256)]:
        a, b, _ = operands(rng, m, n, k, False, True)
        _c.set_num_threads(1)
        one = _c.gemm(a, b, trans_b=True)
        _c.set_num_threads(2)
        np.testing.assert_array_equal(one, _c.gemm(a, b, trans_b=True))


@pytest.mark.parametrize("m, n, k, trans_a, trans_b", [(37, 48, 10, False, False),
                                                       (9, 256, 20, True, True),
                                                       (20, 64, 300, False, True)])
def test_result_does_not_depend_on_the_alignment_of_c(cpu_path, m, n, k, trans_a, trans_b):
    """C at every float offset from a cache line: with a short k the column panels follow C's
    alignment (to avoid split stores), but each element is computed the same way."""
    a, b, c = operands(np.random.default_rng(6), m, n, k, trans_a, trans_b)
    results = []
    for offset in range(16):
        buffer = np.full(m * n + 16, np.nan, dtype=np.float32)
        out = buffer[offset:offset + m * n].reshape(m, n)
        out[...] = c
        results.append(_c.gemm(a, b, out, trans_a=trans_a, trans_b=trans_b, beta=-0.5).copy())
        assert np.isnan(buffer[:offset]).all() and np.isnan(buffer[offset + m * n:]).all()
    assert_matches_reference(results[0], a, b, c, trans_a=trans_a, trans_b=trans_b,
                             alpha=1.0, beta=-0.5)
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_result_does_not_depend_on_the_alignment_of_b(cpu_path, threads):
    """A row-major B read in place at every float offset from a cache line, on 1 and 2 threads:
    its column panels follow B's alignment (to avoid split loads), but each element is computed
    the same way, partial edge panels included."""
    m, n, k = 40, 300, 400  # several K blocks, enough work for two threads
    a, b, c = operands(np.random.default_rng(7), m, n, k, False, False)
    results = []
    for offset in range(16):
        buffer = np.empty(k * n + 16, dtype=np.float32)
        moved = buffer[offset:offset + k * n].reshape(k, n)
        moved[...] = b
        for count in (1, 2):
            threads(count)
            results.append(_c.gemm(a, moved, c.copy(), beta=-0.5))
    assert_matches_reference(results[0], a, b, c, trans_a=False, trans_b=False,
                             alpha=1.0, beta=-0.5)
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


F32 = np.ones((4, 3), np.float32)
F32_B = np.ones((3, 2), np.float32)


@pytest.mark.parametrize("m, n, k", [(64, 256, 784), (8, 9, 3), (9, 100, 33), (128, 129, 50)])
def test_a_batch_times_wide_weights_matches_across_threads(cpu_path, threads, m, n, k):
    """x·Wᵀ with few rows (a linear layer's forward) is computed as (W·xᵀ)ᵀ: same contract."""
    x, w, c = operands(np.random.default_rng(m + n + k), m, n, k, False, True)
    c.fill(np.nan)                                        # beta == 0 never reads c
    threads(1)
    one = _c.gemm(x, w, c, trans_b=True, alpha=0.5)
    threads(2)
    np.testing.assert_array_equal(_c.gemm(x, w, trans_b=True, alpha=0.5), one)
    assert_matches_reference(one, x, w, None, trans_a=False, trans_b=True, alpha=0.5, beta=0.0)


@pytest.mark.parametrize("a, b, c, error, match", [
    (F32.astype(np.float64), F32_B, None, TypeError, "a must be float32"),
    (F32, np.ones((3, 2), np.int32), None, TypeError, "b must be float32"),
    ([[1.0]], np.ones((1, 2), np.float32), None, TypeError, "a must be a numpy.ndarray"),
    (np.ones((2, 4, 3), np.float32), F32_B, None, ValueError, "a must be 2-D"),
    (F32, np.ones(3, np.float32), None, ValueError, "b must be 2-D"),
    (F32, np.ones((4, 2), np.float32), None, ValueError, "inner dimensions differ"),
    (F32, F32_B, np.ones((4, 3), np.float32), ValueError, "c must have shape"),
    (F32, F32_B, np.ones((4, 2), np.float64), TypeError, "c must be a float32"),
    (F32, F32_B, np.ones((2, 4), np.float32).T, ValueError, "C-contiguous"),
])
def test_bad_arguments_raise(a, b, c, error, match):
    with pytest.raises(error, match=match):
        _c.gemm(a, b, c)
