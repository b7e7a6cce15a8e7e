"""C batch normalisation and add+ReLU against the NumPy reference: drawn shapes (N = 1 with
S > 1, C = 1, 3, 7, (N, C) input, non-square and 3-D spatial dims), weight/bias absent or
given, training and evaluation, non-contiguous input, every CPU path, 1 vs 2 threads
bit-identical, and data far from zero (the shifted sums).

Tolerances: float32 results against the float64 reference on the same float32 data (the
backward at C's own float32 mean and inv_std: its result is that sensitive to them); the
statistics at rtol = atol = 1e-5, y at rtol 1e-5 and 1e-6 of its terms' size |x inv_std w|,
dx at 1e-5 of its terms' size |w inv_std dy|, dweight/dbias (sums of up to a few hundred
terms) at 1e-4."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("dlcore.kernels._c")
from dlcore import kernels                                            # noqa: E402
from dlcore.kernels import _c as C                                    # noqa: E402
from dlcore.kernels import reference as R                             # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
SUM_TOL = dict(rtol=1e-4, atol=1e-4)

shapes = st.tuples(st.sampled_from([1, 2, 5]), st.sampled_from([1, 3, 7]),
                   st.sampled_from([(), (1,), (9,), (1, 1), (3, 4), (7, 5), (2, 3, 5)])).map(
    lambda t: (t[0], t[1]) + t[2])


def case(shape, seed, affine):
    """x (offset and scaled per channel), dy, and weight/bias (or None)."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    per_channel = (1, c) + (1,) * (len(shape) - 2)
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, per_channel)
         + rng.uniform(-4, 4, per_channel)).astype(np.float32)
    dy = rng.standard_normal(shape, dtype=np.float32)
    w, b = (rng.standard_normal(c, dtype=np.float32) for _ in range(2))
    return x, dy, (w if affine else None), (b if affine else None)


def both(x, dy, w, b, training, running=None):
    """Forward + full backward on C and on the float64 reference, as pairs of results, and
    the size of dx's terms."""
    mean, var = running if running is not None else (None, None)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    fc = C.batch_norm_forward(x, w, b, mean, var, training=training)
    fr = R.batch_norm_forward(x64, w, b, mean, var, training=training)
    bc = C.batch_norm_backward(x, dy, fc[1], fc[3], w, training)
    br = R.batch_norm_backward(x64, dy64, fc[1], fc[3], w, training)
    gain = np.abs(fc[3] * (1 if w is None else w)).max()
    return fc, fr, bc, br, (gain * np.abs(dy).max(), gain * np.abs(x).max())


def assert_close(fc, fr, bc, br, sizes):
    terms, y_terms = sizes
    # y = (x - mean) inv_std w + b: x - mean cancels in float32 when the batch's values are
    # close (N = 2 far from 0), and inv_std w scales the rounding: |x| inv_std |w| of it
    np.testing.assert_allclose(fc[0], fr[0], rtol=1e-5, atol=1e-6 * max(10.0, y_terms))
    for got, want in zip(fc[1:], fr[1:]):                  # mean, var, inv_std
        np.testing.assert_allclose(got, want, **TOL)
    # e.g. 316 |w dy| for one value per channel (var 0), whose dx cancels to 0
    np.testing.assert_allclose(bc[0], br[0], rtol=1e-5, atol=1e-5 * max(1.0, terms))
    for got, want in zip(bc[1:], br[1:]):                    # dweight, dbias
        np.testing.assert_allclose(got, want, **SUM_TOL)


@settings(max_examples=80, deadline=None,          # the path fixture holds for all examples
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes, st.booleans(), st.booleans(), st.integers(0, 2**32 - 1))
def test_batch_norm_matches_the_reference(cpu_path, shape, training, affine, seed):
    x, dy, w, b = case(shape, seed, affine)
    running = None
    if not training:
        rng = np.random.default_rng(seed + 1)
        running = (rng.standard_normal(shape[1], dtype=np.float32),
                   rng.uniform(0.2, 3, shape[1]).astype(np.float32))
    results = both(x, dy, w, b, training, running)
    fc, bc = results[0], results[2]
    assert fc[0].shape == x.shape and all(v.shape == (shape[1],) for v in fc[1:])
    assert all(v.dtype == np.float32 for v in (*fc, *bc))
    assert_close(*results)


@pytest.mark.parametrize("shape", [(1, 3, 5, 4), (6, 7), (2, 1, 3, 3)])
def test_training_statistics_are_the_batch_mean_and_biased_variance(shape):
    x, dy, w, b = case(shape, 3, True)
    y, mean, var, inv_std = C.batch_norm_forward(x, w, b)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(mean, x.mean(axis=axes, dtype=np.float64), **TOL)
    np.testing.assert_allclose(var, x.var(axis=axes, dtype=np.float64), rtol=1e-5)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(var.astype(np.float64) + 1e-5), rtol=1e-6)
    cols = (1, -1) + (1,) * (len(shape) - 2)
    xhat = (x - mean.reshape(cols)) * inv_std.reshape(cols)
    np.testing.assert_allclose(y, xhat * w.reshape(cols) + b.reshape(cols), **TOL)


def test_evaluation_normalises_with_the_given_statistics_and_leaves_them_alone():
    x, dy, w, b = case((4, 3, 2, 5), 4, True)
    mean, var = np.array([1, -2, 0.5], np.float32), np.array([4, 0.25, 1], np.float32)
    y, m, v, inv_std = C.batch_norm_forward(x, w, b, mean, var, eps=0.0, training=False)
    cols = (1, 3, 1, 1)
    want = (x - mean.reshape(cols)) / np.sqrt(var).reshape(cols) * w.reshape(cols) + b.reshape(cols)
    np.testing.assert_allclose(y, want, **TOL)
    np.testing.assert_array_equal(inv_std, [0.5, 2, 1])
    np.testing.assert_array_equal(m, mean)
    assert m is not mean and v is not var                  # copies, not the caller's arrays
    dx, _, _ = C.batch_norm_backward(x, dy, m, inv_std, w, training=False)
    np.testing.assert_allclose(dx, dy * (w * inv_std).reshape(cols), **TOL)


def test_weight_and_bias_absent_mean_one_and_zero():
    x, dy, w, _ = case((3, 4, 5), 5, True)
    ones, zeros = np.ones(4, np.float32), np.zeros(4, np.float32)
    without = C.batch_norm_forward(x)
    with_unit = C.batch_norm_forward(x, ones, zeros)
    for a, b in zip(without, with_unit):
        np.testing.assert_array_equal(a, b)
    mean, inv_std = without[1], without[3]
    for a, b in zip(C.batch_norm_backward(x, dy, mean, inv_std),
                    C.batch_norm_backward(x, dy, mean, inv_std, ones)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (False, False, False)])
def test_backward_computes_only_what_is_needed(need):
    x, dy, w, b = case((3, 2, 4), 6, True)
    _, mean, _, inv_std = C.batch_norm_forward(x, w, b)
    full = C.batch_norm_backward(x, dy, mean, inv_std, w)
    part = C.batch_norm_backward(x, dy, mean, inv_std, w, True, *need)
    for wanted, got, ref in zip(need, part, full):
        if wanted:
            np.testing.assert_array_equal(got, ref)
        else:
            assert got is None


def test_non_contiguous_input_gives_what_its_copy_gives(cpu_path):
    x, dy, w, b = case((4, 6, 10, 9), 7, True)
    view, dview = x[:, ::2, 1::2, :], dy[:, ::2, 1::2, :]      # (4, 3, 5, 9), strided
    ref = C.batch_norm_forward(np.ascontiguousarray(view), w[:3], b[:3])
    got = C.batch_norm_forward(view, w[:3], b[:3])
    for a, r in zip(got, ref):
        np.testing.assert_array_equal(a, r)
    np.testing.assert_array_equal(
        C.batch_norm_backward(view, dview, got[1], got[3], w[:3])[0],
        C.batch_norm_backward(np.ascontiguousarray(view), np.ascontiguousarray(dview), got[1],
                              got[3], w[:3])[0])
    assert_close(*both(view, dview, w[:3], b[:3], True))


@pytest.mark.parametrize("shape", [(8, 16, 20, 21), (3, 7, 33, 35), (64, 600)])
def test_one_and_two_threads_give_bit_identical_results(cpu_path, threads, shape):
    """Large enough to run threaded; C = 7 splits unevenly between the threads."""
    x, dy, w, b = case(shape, 8, True)
    results = []
    for n in (1, 2):
        threads(n)
        y, mean, var, inv_std = C.batch_norm_forward(x, w, b)
        grads = C.batch_norm_backward(x, dy, mean, inv_std, w)
        evaluation = C.batch_norm_forward(x, w, b, mean, var, training=False)
        results.append((y, mean, var, inv_std, *grads, *evaluation,
                        *C.batch_norm_backward(x, dy, mean, inv_std, w, training=False)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_data_far_from_zero_keeps_its_variance(cpu_path):
    """Summing x² would cancel to noise at 1e4 ± 1 in float32; the shifted sums do not. y is
    as good as the float32 mean it subtracts allows: within half an ulp of 1e4 (5e-4)."""
    rng = np.random.default_rng(9)
    x = (1e4 + rng.standard_normal((16, 3, 8, 8))).astype(np.float32)
    fc = C.batch_norm_forward(x)
    fr = R.batch_norm_forward(x.astype(np.float64))
    np.testing.assert_allclose(fc[2], fr[2], rtol=1e-5)
    np.testing.assert_allclose(fc[0], fr[0], rtol=0, atol=6e-4)


def test_a_constant_channel_has_zero_variance_and_inv_std_one_over_sqrt_eps():
    x = np.full((4, 2, 3), 2.5, np.float32)
    y, mean, var, inv_std = C.batch_norm_forward(x, eps=0.25)
    np.testing.assert_array_equal(mean, 2.5)
    np.testing.assert_array_equal(var, 0)
    np.testing.assert_array_equal(inv_std, 2)
    np.testing.assert_array_equal(y, 0)


def test_float64_runs_on_the_reference():
    x = np.random.default_rng(10).standard_normal((4, 3, 2))
    y, mean, var, inv_std = kernels.batch_norm_forward(x)
    assert y.dtype == mean.dtype == np.float64
    dx, dw, db = kernels.batch_norm_backward(x, x, mean, inv_std)
    assert dx.dtype == np.float64


# ---- add + ReLU -------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 2**32 - 1))
def test_add_relu_is_relu_of_the_sum(shape, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(shape, dtype=np.float32) for _ in range(2))
    b.flat[0] = -a.flat[0]                                # a sum of exactly 0
    y = C.add_relu_forward(a, b)
    np.testing.assert_array_equal(y, R.add_relu_forward(a, b))
    np.testing.assert_array_equal(y, C.relu_forward(a + b))
    assert y.flat[0] == 0


def test_add_relu_on_every_path_and_thread_count_keeps_nan_and_non_contiguous_input(
        cpu_path, threads):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((300, 700), dtype=np.float32)
    b = rng.standard_normal((700, 300), dtype=np.float32).T          # non-contiguous
    a[5, 5] = np.nan
    threads(1)
    one = C.add_relu_forward(a, b)
    threads(2)
    np.testing.assert_array_equal(C.add_relu_forward(a, b), one)
    assert np.isnan(one[5, 5])
    np.testing.assert_array_equal(one, R.add_relu_forward(a, np.ascontiguousarray(b)))
