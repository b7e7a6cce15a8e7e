"""The NumPy reference is the definition of correct, so it is itself checked here: forward
passes against direct loops written from the definitions, backward passes by the adjoint
identity <f(x), dy> = <x, f'(x)ᵀ dy> (exact for these linear maps) and finite differences."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcore.kernels import reference as R


def direct_conv2d(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation straight from the definition (no flip), one output cell at a time."""
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    pt, pb, pl, pr = padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pl + pr - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, oc, oh, ow))
    ocg = oc // groups
    for o in range(oc):
        g = o // ocg
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * stride[0], j * stride[1]
                patch = xp[:, g * cg:(g + 1) * cg,
                           r0: r0 + dilation[0] * (kh - 1) + 1: dilation[0],
                           c0: c0 + dilation[1] * (kw - 1) + 1: dilation[1]]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + (b[o] if b is not None else 0)
    return y


conv_geometry = st.fixed_dictionaries({
    "n": st.integers(1, 3), "groups": st.sampled_from([1, 2, 3]),
    "cg": st.integers(1, 3), "ocg": st.integers(1, 3),
    "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3),
    "dh": st.integers(1, 2), "dw": st.integers(1, 2),
    "pad": st.tuples(*[st.integers(0, 3)] * 4),
    "h": st.integers(1, 9), "w": st.integers(1, 9),
})


def _conv_args(g, rng):
    hp = g["h"] + g["pad"][0] + g["pad"][1]
    wp = g["w"] + g["pad"][2] + g["pad"][3]
    if hp < g["dh"] * (g["kh"] - 1) + 1 or wp < g["dw"] * (g["kw"] - 1) + 1:
        return None
    c, oc = g["cg"] * g["groups"], g["ocg"] * g["groups"]
    x = rng.standard_normal((g["n"], c, g["h"], g["w"]))
    w = rng.standard_normal((oc, g["cg"], g["kh"], g["kw"]))
    b = rng.standard_normal(oc)
    return x, w, b, dict(stride=(g["sh"], g["sw"]), padding=g["pad"],
                         dilation=(g["dh"], g["dw"]), groups=g["groups"])


@settings(max_examples=60, deadline=None)
@given(conv_geometry, st.integers(0, 2**32 - 1))
def test_conv2d_matches_the_definition_and_its_backward_is_the_adjoint(g, seed):
    rng = np.random.default_rng(seed)
    args = _conv_args(g, rng)
    if args is None:
        return
    x, w, b, kw = args
    y = R.conv2d_forward(x, w, b, **kw)
    np.testing.assert_allclose(y, direct_conv2d(x, w, b, **kw), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = R.conv2d_backward(x, w, dy, **kw)
    y0 = R.conv2d_forward(x, w, None, **kw)                      # bilinear in (x, w)
    assert np.isclose(np.vdot(y0, dy), np.vdot(x, dx), rtol=1e-10, atol=1e-9)
    assert np.isclose(np.vdot(y0, dy), np.vdot(w, dw), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)))


def test_pooling_worked_example_and_conv_output_size_from_the_notes():
    """FEATURES §11, Ex. 4.4: 2x2 max/avg pools of Y; a 4x4 input, 3x3 kernel, total padding 2
    stays 4x4; the size table for 8x8 inputs."""
    y = np.array([[0, 5, 8, 0], [6, 10, 1, 5], [4, 0, 2, 11], [0, 1, 11, 3]], float)[None, None]
    np.testing.assert_array_equal(R.max_pool2d_forward(y, 2, 2, 0)[0][0, 0], [[10, 8], [4, 11]])
    np.testing.assert_allclose(R.avg_pool2d_forward(y, 2, 2, 0)[0, 0],
                               [[21 / 4, 7 / 2], [5 / 4, 27 / 4]])
    ones = np.ones((1, 1, 3, 3))
    assert R.conv2d_forward(y, ones, None, padding=(1, 1, 1, 1)).shape == (1, 1, 4, 4)
    x8 = np.zeros((1, 1, 8, 8))
    for k, pad, s, out in [(3, 1, 1, 8), (3, 1, 2, 4), (3, 0, 3, 2), (5, 1, 4, 2)]:
        w = np.ones((1, 1, k, k))
        assert R.conv2d_forward(x8, w, None, (s, s), (pad,) * 4).shape[2:] == (out, out)


def test_im2col_is_the_patch_matrix_and_col2im_its_adjoint():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6))
    cols = R.im2col(x, (3, 2), stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2))
    w = rng.standard_normal((1, 2, 3, 2))
    y = R.conv2d_forward(x[None], w, None, (2, 1), (1, 0, 2, 1), (1, 2))
    np.testing.assert_allclose(w.reshape(1, -1) @ cols, y.reshape(1, -1), rtol=1e-12)
    d = rng.standard_normal(cols.shape)
    back = R.col2im(d, x.shape, (3, 2), (2, 1), (1, 0, 2, 1), (1, 2))
    assert np.isclose(np.vdot(cols, d), np.vdot(x, back), rtol=1e-12)
    assert R.im2col(rng.standard_normal((1, 7, 7)), 3).shape == (9, 25)   # (n-k+1)² × k²


def direct_pool(x, k, s, p, reduce):
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s - p, j * s - p
            window = x[:, :, max(r0, 0):r0 + k, max(c0, 0):c0 + k]
            y[:, :, i, j] = reduce(window, k * k)
    return y


pool_geometry = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2),
                          st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=60, deadline=None)
@given(pool_geometry, st.integers(0, 2**32 - 1))
def test_pooling_matches_the_definition(geom, seed):
    k, s, p, h, w = geom
    if 2 * p > k or h + 2 * p < k or w + 2 * p < k:
        return
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    y, idx = R.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, direct_pool(x, k, s, p, lambda v, _: v.max(axis=(2, 3))))
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1),
                                                     2).reshape(y.shape), y)
    avg = R.avg_pool2d_forward(x, k, s, p)
    np.testing.assert_allclose(avg, direct_pool(x, k, s, p, lambda v, kk: v.sum((2, 3)) / kk))
    avg_real = R.avg_pool2d_forward(x, k, s, p, count_include_pad=False)
    np.testing.assert_allclose(avg_real, direct_pool(x, k, s, p,
                                                     lambda v, _: v.mean(axis=(2, 3))))
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape)
    for include in (True, False):                                   # linear maps: adjoint
        a = R.avg_pool2d_forward(x, k, s, p, include)
        dx = R.avg_pool2d_backward(dy, x.shape, k, s, p, include)
        assert np.isclose(np.vdot(a, dy), np.vdot(x, dx), rtol=1e-10, atol=1e-10)
    dx = R.max_pool2d_backward(dy, idx, x.shape)                   # locally linear, no ties
    assert np.isclose(np.vdot(y, dy), np.vdot(x, dx), rtol=1e-10, atol=1e-10)


def test_global_average_pool_and_its_gradient():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    np.testing.assert_allclose(R.global_avg_pool2d_forward(x), [[5.5, 17.5]])
    dx = R.global_avg_pool2d_backward(np.array([[12.0, 24.0]]), x.shape)
    np.testing.assert_allclose(dx[0, 0], 1.0)
    np.testing.assert_allclose(dx[0, 1], 2.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_softmax_cross_entropy_gradient_by_finite_differences(reduction, smoothing):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 7))
    t = np.array([0, 6, -100, 3, 3])
    loss, grad = R.softmax_cross_entropy(z, t, reduction, -100, smoothing)
    weights = rng.standard_normal(5) if reduction == "none" else 1.0

    def f(zz):
        return float(np.sum(weights * R.softmax_cross_entropy(zz, t, reduction, -100, smoothing,
                                                              need_grad=False)[0]))
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = 1e-6
        numeric[idx] = (f(z + e) - f(z - e)) / 2e-6
    analytic = grad * (weights[:, None] if reduction == "none" else 1.0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert np.all(grad[2] == 0)                                    # ignored row


def test_softmax_cross_entropy_facts():
    z = np.zeros((4, 10))
    loss, grad = R.softmax_cross_entropy(z, np.arange(4))
    assert np.isclose(loss, np.log(10))                            # ln 10 ≈ 2.3026
    big = np.array([[1000.0, 0.0, -1000.0]], np.float32)          # stable: no overflow
    loss, grad = R.softmax_cross_entropy(big, np.array([0]))
    assert loss == 0 and np.all(np.isfinite(grad))
    loss, _ = R.softmax_cross_entropy(z[:2], np.array([-100, -100]))
    assert np.isnan(loss)                                          # mean over no rows
    with pytest.raises(ValueError, match="outside"):
        R.softmax_cross_entropy(z, np.array([0, 1, 2, 10]))


def test_gemm_transposes_alpha_beta():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    c = rng.standard_normal((3, 5))
    expect = 2 * a.T @ b.T + 0.5 * c
    np.testing.assert_allclose(R.gemm(a, b, c.copy(), trans_a=True, trans_b=True, alpha=2,
                                      beta=0.5), expect)
    nan_c = np.full((3, 5), np.nan)
    assert np.all(np.isfinite(R.gemm(a, b, nan_c, trans_a=True, trans_b=True)))
    with pytest.raises(ValueError, match="inner dimensions"):
        R.gemm(a, b)


def _numeric_gradient(f, a, eps=1e-6):
    """Central differences of the scalar f at a (float64), one element at a time."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[idx] = eps
        grad[idx] = (f(a + e) - f(a - e)) / (2 * eps)
    return grad


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (1, 2, 3, 2), (3, 1, 2, 1, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_the_definition_and_finite_differences(shape, training):
    rng = np.random.default_rng(len(shape) + training)
    c = shape[1]
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    running = (None, None) if training else (rng.standard_normal(c), rng.uniform(0.5, 2, c))
    y, mean, var, inv_std = R.batch_norm_forward(x, w, b, *running, eps=1e-3,
                                                 training=training)
    for ch in range(c):                                      # one channel at a time
        v = x[:, ch]
        m, s2 = (v.mean(), v.var()) if training else (running[0][ch], running[1][ch])
        np.testing.assert_allclose(y[:, ch], (v - m) / np.sqrt(s2 + 1e-3) * w[ch] + b[ch],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose((mean[ch], var[ch]), (m, s2), rtol=1e-12, atol=1e-15)
    dx, dw, db = R.batch_norm_backward(x, dy, mean, inv_std, w, training)

    def loss(xx=x, ww=w, bb=b):
        return float(np.sum(dy * R.batch_norm_forward(xx, ww, bb, *running, eps=1e-3,
                                                      training=training)[0]))
    np.testing.assert_allclose(dx, _numeric_gradient(lambda a: loss(xx=a), x), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(dw, _numeric_gradient(lambda a: loss(ww=a), w), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(db, _numeric_gradient(lambda a: loss(bb=a), b), rtol=1e-6,
                               atol=1e-8)


def test_add_relu_is_the_positive_part_of_the_sum():
    a = np.array([[-1.0, 2.0, 0.5], [3.0, -4.0, np.nan]])
    b = np.array([[0.5, -3.0, -0.5], [1.0, 5.0, 1.0]])
    np.testing.assert_array_equal(R.add_relu_forward(a, b), [[0, 0, 0], [4, 1, np.nan]])
    with pytest.raises(ValueError, match="differ in shape"):
        R.add_relu_forward(a, b.T)
