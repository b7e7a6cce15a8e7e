"""C conv2d, im2col and col2im against the NumPy reference: drawn geometries (sizes 1 and
primes, non-square kernels, stride > kernel, padding >= kernel/2, dilation, groups, batch 1),
on every CPU path the machine has, bit-identical for 1 and 2 threads.

Tolerances: the C kernels compute in float32; the reference runs in float64 on the same
float32 inputs, so results agree to rtol = atol = 1e-4 (sums of at most a few hundred terms
of unit size)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("dlcore.kernels._c")
from dlcore.kernels import _c as C                                    # noqa: E402
from dlcore.kernels import reference as R                             # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture(autouse=True, params=["views on any plane", "Winograd on every 3x3 stride 1",
                                      "default algorithm choice"])
def algorithm(request):
    """Every test three times: with the shifted-view paths on every stride-1 shape (the small
    shapes here would otherwise take im2col columns), with Winograd's F(2x2, 3x3) on every 3x3
    stride-1 undilated one (the drawn channels are too few for the default choice), and with
    the default choice."""
    views = C.conv_views_min_pixels(0 if request.param == "views on any plane" else None)
    winograd = C.conv_winograd("always" if request.param.startswith("Winograd") else None)
    yield
    C.conv_views_min_pixels(views)
    C.conv_winograd(winograd)


sizes = st.sampled_from([1, 2, 3, 5, 7, 11])
geometries = st.fixed_dictionaries({
    "n": st.sampled_from([1, 2, 3]), "groups": st.sampled_from([1, 2, 3]),
    "cg": st.sampled_from([1, 2, 3]), "ocg": st.sampled_from([1, 2, 5]),
    "kh": st.integers(1, 5), "kw": st.integers(1, 5),
    "sh": st.integers(1, 4), "sw": st.integers(1, 4),
    "dh": st.integers(1, 2), "dw": st.integers(1, 2),
    "pad": st.tuples(*[st.integers(0, 3)] * 4),
    "h": sizes, "w": sizes,
})


def conv_case(g, seed):
    """(x, w, bias, kwargs) for a drawn geometry, or None when the kernel does not fit."""
    pt, pb, pl, pr = g["pad"]
    if (g["h"] + pt + pb < g["dh"] * (g["kh"] - 1) + 1 or
            g["w"] + pl + pr < g["dw"] * (g["kw"] - 1) + 1):
        return None
    rng = np.random.default_rng(seed)
    c, oc = g["cg"] * g["groups"], g["ocg"] * g["groups"]
    x = rng.standard_normal((g["n"], c, g["h"], g["w"]), dtype=np.float32)
    w = rng.standard_normal((oc, g["cg"], g["kh"], g["kw"]), dtype=np.float32)
    b = rng.standard_normal(oc, dtype=np.float32)
    return x, w, b, dict(stride=(g["sh"], g["sw"]), padding=g["pad"],
                         dilation=(g["dh"], g["dw"]), groups=g["groups"])


def f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


@settings(max_examples=40, deadline=None,            # the path fixture holds for all examples
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(geometries, st.integers(0, 2**32 - 1))
def test_conv2d_forward_and_backward_match_the_reference(cpu_path, g, seed):
    matches_the_reference(g, seed)


# 3x3, stride 1, undilated, padding 0-2: the shapes Winograd's F(2x2, 3x3) takes (the fixture's
# second run takes it on all of them), odd sizes, planes of 1 pixel, groups
winograd_geometries = st.fixed_dictionaries({
    "n": st.sampled_from([1, 2, 3]), "groups": st.sampled_from([1, 2]),
    "cg": st.sampled_from([1, 3, 16, 17]), "ocg": st.sampled_from([1, 2, 5, 8]),
    "kh": st.just(3), "kw": st.just(3), "sh": st.just(1), "sw": st.just(1),
    "dh": st.just(1), "dw": st.just(1), "pad": st.tuples(*[st.integers(0, 2)] * 4),
    "h": sizes, "w": sizes,
})


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(winograd_geometries, st.integers(0, 2**32 - 1))
def test_3x3_stride_1_convolutions_match_the_reference(cpu_path, g, seed):
    matches_the_reference(g, seed)


def matches_the_reference(g, seed):
    case = conv_case(g, seed)
    if case is None:
        return
    x, w, b, kw = case
    y = C.conv2d_forward(x, w, b, **kw)
    np.testing.assert_allclose(y, R.conv2d_forward(*f64(x, w, b), **kw), **TOL)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape, dtype=np.float32)
    grads = C.conv2d_backward(x, w, dy, **kw)
    for got, want in zip(grads, R.conv2d_backward(*f64(x, w, dy), **kw)):
        np.testing.assert_allclose(got, want, **TOL)
    # what a transposed convolution's forward pass runs: dx from x's shape alone
    np.testing.assert_array_equal(C.conv2d_backward_input(dy, w, x.shape, **kw), grads[0])
    np.testing.assert_allclose(R.conv2d_backward_input(*f64(dy, w), x.shape, **kw), grads[0],
                               **TOL)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True)])
def test_conv2d_backward_computes_only_the_gradients_asked_for(need):
    x, w, b, kw = conv_case({"n": 2, "groups": 2, "cg": 2, "ocg": 3, "kh": 3, "kw": 2,
                             "sh": 2, "sw": 1, "dh": 1, "dw": 2, "pad": (1, 0, 2, 1),
                             "h": 7, "w": 5}, 0)
    dy = np.ones(C.conv2d_forward(x, w, b, **kw).shape, np.float32)
    full = C.conv2d_backward(x, w, dy, **kw)
    part = C.conv2d_backward(x, w, dy, **kw, need_dx=need[0], need_dw=need[1], need_db=need[2])
    for wanted, got, ref in zip(need, part, full):
        if wanted:
            np.testing.assert_array_equal(got, ref)
        else:
            assert got is None


# Fewer than 32 channels per group at stride 1 take the direct convolution: LeNet's conv1 (more
# images than a dW chunk, blocks of 6 output planes) and conv2 (blocks of 6 for dX), and with
# groups, dilation and asymmetric padding (blocks of 6 forward, of 3 for dX). A 1x1 pointwise conv, a strided ResNet-like 3x3
# conv (im2col columns, dot-tile dW); >= 32 channels per group at stride 1 take the shifted-view
# forward and dX (on AVX-512 the direct convolution's deep blocks of 8 output planes where
# they divide the planes: with groups, and one image cut into strips across threads), and dW
# by transposed columns (dilation, asymmetric padding, groups, one image; more images than
# dW's 4 batch parts, not a multiple of them, and output rows in several blocks; on AVX-512
# by in-place tiles where they fit, with groups and a 2x3 kernel); and a strided conv with
# GEMM dW over im2col columns. Winograd's F(2x2, 3x3) by the default choice: 16 channels on
# planes too small for views (one with groups, asymmetric padding and odd sizes), 64 on larger
# ones, and more images than one chunk of its transformed planes holds, not a multiple of it.
LARGE = [((70, 1, 28, 28), (6, 1, 5, 5), (2, 2, 2, 2), 1, 1, 1),
         ((21, 6, 14, 14), (16, 6, 5, 5), (0, 0, 0, 0), 1, 1, 1),
         ((40, 6, 12, 11), (12, 3, 3, 2), (1, 2, 0, 1), 2, 1, 2),
         ((9, 8, 6, 5), (12, 4, 1, 1), (0, 0, 0, 0), 2, 1, 1),
         ((3, 16, 16, 16), (16, 16, 3, 3), (1, 1, 1, 1), 1, 2, 1),
         ((2, 32, 7, 6), (40, 32, 3, 3), (1, 1, 1, 1), 1, 1, 1),
         ((1, 32, 9, 7), (8, 32, 3, 2), (2, 1, 1, 0), 1, 1, 2),
         ((3, 64, 5, 6), (10, 32, 2, 3), (0, 1, 2, 0), 2, 1, 1),
         ((2, 32, 7, 7), (20, 32, 3, 3), (1, 0, 1, 0), 1, 2, 1),
         ((6, 32, 32, 30), (8, 32, 3, 3), (1, 1, 1, 1), 1, 1, 1),
         ((1, 40, 10, 9), (32, 40, 3, 3), (1, 1, 1, 1), 1, 1, 1),
         ((3, 64, 6, 7), (32, 32, 2, 3), (1, 0, 2, 1), 2, 1, 1),
         ((4, 16, 4, 4), (8, 16, 3, 3), (1, 1, 1, 1), 1, 1, 1),
         ((3, 32, 5, 7), (16, 16, 3, 3), (0, 2, 1, 2), 2, 1, 1),
         ((2, 64, 10, 11), (64, 64, 3, 3), (1, 1, 1, 1), 1, 1, 1),
         ((70, 64, 8, 8), (64, 64, 3, 3), (1, 1, 1, 1), 1, 1, 1)]


@pytest.mark.parametrize("x_shape, w_shape, padding, groups, stride, dilation", LARGE)
def test_one_and_two_threads_give_bit_identical_results(threads, cpu_path, x_shape, w_shape,
                                                        padding, groups, stride, dilation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    kw = dict(padding=padding, groups=groups, stride=(stride, stride),
              dilation=(dilation, dilation))
    threads_agree_with_the_reference(threads, x, w, b, kw)


def threads_agree_with_the_reference(threads, x, w, b, kw):
    """(y, dx, dw, db, dx from x's shape alone) on one thread: bit-identical on two, close to
    the float64 reference."""
    results = []
    for n in (1, 2):
        threads(n)
        y = C.conv2d_forward(x, w, b, **kw)
        results.append((y, *C.conv2d_backward(x, w, np.cos(y), **kw),
                        C.conv2d_backward_input(np.cos(y), w, x.shape, **kw)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
    want = [R.conv2d_forward(*f64(x, w, b), **kw)]
    want += R.conv2d_backward(*f64(x, w, np.cos(results[0][0])), **kw)
    for got, ref in zip(results[0], want):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3)
    return results[0]


@pytest.mark.parametrize("x_shape, w_shape, groups, stride", [
    ((64, 128, 7, 7), (1, 128, 7, 7), 1, 1),     # DCGAN's discriminator head
    ((64, 64, 1, 1), (128, 64, 1, 1), 1, 1),     # 1x1 input (pointwise too: dense wins)
    ((3, 6, 5, 4), (4, 3, 5, 4), 2, 3),          # groups, non-square, any stride
    ((1, 5, 3, 3), (7, 5, 3, 3), 1, 1),          # one image
])
def test_a_kernel_covering_the_input_is_a_dense_layer(threads, cpu_path, x_shape, w_shape,
                                                      groups, stride):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    results = threads_agree_with_the_reference(
        threads, x, w, b, dict(groups=groups, stride=(stride, stride)))
    np.testing.assert_array_equal(results[4], results[1])


def test_pointwise_conv_is_a_linear_layer_per_pixel():
    """FEATURES §11: a 1x1 conv equals a matmul on (N*H*W, C)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 4, 6), dtype=np.float32)
    w = rng.standard_normal((7, 5, 1, 1), dtype=np.float32)
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 5).astype(np.float64)
    want = (pixels @ w[:, :, 0, 0].T.astype(np.float64)).reshape(3, 4, 6, 7).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(C.conv2d_forward(x, w), want, **TOL)


def test_worked_example_output_sizes_from_the_notes():
    """FEATURES §11 (Ex. 4.4): 4x4 input, 3x3 kernel, total padding 2 -> 4x4; the 8x8 table."""
    ones3 = np.ones((1, 1, 3, 3), np.float32)
    assert C.conv2d_forward(np.ones((1, 1, 4, 4), np.float32), ones3, None,
                            padding=(1, 1, 1, 1)).shape == (1, 1, 4, 4)
    x8 = np.zeros((1, 1, 8, 8), np.float32)
    for k, pad, s, out in [(3, 1, 1, 8), (3, 1, 2, 4), (3, 0, 3, 2), (5, 1, 4, 2)]:
        y = C.conv2d_forward(x8, np.ones((1, 1, k, k), np.float32), None, (s, s), (pad,) * 4)
        assert y.shape[2:] == (out, out)


@settings(max_examples=30, deadline=None)
@given(geometries, st.integers(0, 2**32 - 1))
def test_im2col_and_col2im_match_the_reference(g, seed):
    case = conv_case(g, seed)
    if case is None:
        return
    x, w, _, kw = case
    geo = dict(kernel_size=w.shape[2:], stride=kw["stride"], padding=kw["padding"],
               dilation=kw["dilation"])
    cols = C.im2col(x[0], **geo)
    np.testing.assert_array_equal(cols, R.im2col(x[0], **geo))      # a pure gather: exact
    d = np.random.default_rng(seed).standard_normal(cols.shape, dtype=np.float32)
    np.testing.assert_allclose(C.col2im(d, x.shape[1:], **geo),
                               R.col2im(d.astype(np.float64), x.shape[1:], **geo), **TOL)
