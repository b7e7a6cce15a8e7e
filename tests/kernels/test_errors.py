"""Bad arguments to the conv, pooling, batch-norm, cross-entropy and add+ReLU kernels: a ValueError or TypeError
naming the problem, never a crash or garbage — the same from the C binding and the NumPy
reference, which share their checks (`dlcore.kernels.contract`)."""
import numpy as np
import pytest

from dlcore.kernels import reference

pytest.importorskip("dlcore.kernels._c")
from dlcore.kernels import _c as C                                    # noqa: E402

BOTH = pytest.mark.parametrize("K", [C, reference], ids=["c", "numpy"])

X = np.zeros((2, 4, 6, 6), np.float32)
W = np.zeros((6, 2, 3, 3), np.float32)


@pytest.mark.parametrize("call, error, match", [
    (lambda K: K.conv2d_forward(X.astype(np.float16), W), TypeError, "x must be float32"),
    (lambda K: K.conv2d_forward(list(X), W), TypeError, "x must be a numpy.ndarray"),
    (lambda K: K.conv2d_forward(X[0], W), ValueError, "x must be 4-D"),
    (lambda K: K.conv2d_forward(X, W), ValueError, "groups=1 does not fit"),
    (lambda K: K.conv2d_forward(X, W, groups=3), ValueError, "groups=3"),
    (lambda K: K.conv2d_forward(X, W, np.zeros(5, np.float32), groups=2), ValueError, "bias"),
    (lambda K: K.conv2d_forward(X, W, groups=2, stride=0), ValueError, "stride"),
    (lambda K: K.conv2d_forward(X, W, groups=2, padding=(1, 1)), ValueError, "padding"),
    (lambda K: K.conv2d_forward(X, np.zeros((6, 2, 7, 3), np.float32), groups=2), ValueError,
     "does not fit"),
    (lambda K: K.conv2d_forward(X, W, groups=2, dilation=(4, 1)), ValueError, "does not fit"),
    (lambda K: K.conv2d_backward(X, W, np.zeros((2, 6, 3, 3), np.float32), groups=2),
     ValueError, "dy must be"),
    (lambda K: K.conv2d_backward_input(np.zeros((2, 6, 3, 3), np.float32), W, X.shape,
                                       groups=2), ValueError, "dy must be"),
    (lambda K: K.conv2d_backward_input(np.zeros((2, 6, 4, 4), np.float32), W, X.shape[1:],
                                       groups=2), ValueError, "x must be"),
    (lambda K: K.im2col(X, 3), ValueError, "x must be 3-D"),
    (lambda K: K.col2im(np.zeros((5, 16), np.float32), (4, 6, 6), 3), ValueError, "cols must be"),
])
@BOTH
def test_conv_rejects_bad_arguments(K, call, error, match):
    with pytest.raises(error, match=match):
        call(K)


@pytest.mark.parametrize("call, error, match", [
    (lambda K: K.max_pool2d_forward(X.astype(np.int32), 2), TypeError, "float32"),
    (lambda K: K.max_pool2d_forward(X[0], 2), ValueError, "4-D"),
    (lambda K: K.max_pool2d_forward(X, 7), ValueError, "does not fit"),
    (lambda K: K.avg_pool2d_forward(X, (2, 8)), ValueError, "does not fit"),
    (lambda K: K.max_pool2d_forward(X, 2, padding=2), ValueError, "at most half"),
    (lambda K: K.avg_pool2d_forward(X, 0), ValueError, "kernel_size"),
    (lambda K: K.avg_pool2d_backward(np.zeros((2, 4, 2, 2), np.float32), X.shape, 2), ValueError,
     "dy must be"),
    (lambda K: K.global_avg_pool2d_backward(np.zeros((2, 3), np.float32), X.shape), ValueError,
     "does not match"),
])
@BOTH
def test_pooling_rejects_bad_arguments(K, call, error, match):
    with pytest.raises(error, match=match):
        call(K)


@pytest.mark.parametrize("bad", [-1, 36, 10**12])
def test_max_pool_backward_checks_every_index(bad):
    y, idx = C.max_pool2d_forward(X, 2)
    idx = idx.copy()
    idx[1, 3, 2, 1] = bad
    with pytest.raises(ValueError, match="outside the input plane"):
        C.max_pool2d_backward(y, idx, X.shape)
    with pytest.raises(TypeError, match="int64"):
        C.max_pool2d_backward(y, idx.astype(np.int32), X.shape)


C4 = np.ones(4, np.float32)


BATCH_NORM_CASES = [
    (lambda K: K.batch_norm_forward(X.astype(np.float16)), TypeError, "x must be float32"),
    (lambda K: K.batch_norm_forward(X.tolist()), TypeError, "x must be a numpy.ndarray"),
    (lambda K: K.batch_norm_forward(X[0, 0, 0]), ValueError, r"x must be \(N, C\) or"),
    (lambda K: K.batch_norm_forward(X[:0]), ValueError, "empty input"),
    (lambda K: K.batch_norm_forward(X, np.ones(3, np.float32)), ValueError,
     r"weight must have shape \(4,\) for x of shape \(2, 4, 6, 6\), got \(3,\)"),
    (lambda K: K.batch_norm_forward(X, C4, C4[:, None]), ValueError,
     r"bias must have shape \(4,\)"),
    (lambda K: K.batch_norm_forward(X, C4, C4.astype(np.int32)), TypeError,
     "bias must be float32"),
    (lambda K: K.batch_norm_forward(X, training=False), ValueError,
     "training=False needs mean and var"),
    (lambda K: K.batch_norm_forward(X, mean=C4, var=C4), ValueError,
     "mean and var are for training=False"),
    (lambda K: K.batch_norm_forward(X, mean=C4, var=C4[:2], training=False), ValueError,
     r"var must have shape \(4,\)"),
    (lambda K: K.batch_norm_forward(X, eps=-1e-5), ValueError, "eps must be in"),
    (lambda K: K.batch_norm_backward(X, X[:1], C4, C4), ValueError,
     "dy must have x's shape"),
    (lambda K: K.batch_norm_backward(X, X, C4[:3], C4), ValueError,
     r"mean must have shape \(4,\)"),
    (lambda K: K.batch_norm_backward(X, X, C4, None), ValueError,
     r"inv_std must have shape \(4,\) for x of shape \(2, 4, 6, 6\), got None"),
    (lambda K: K.batch_norm_backward(X, X, C4, C4, np.ones(5, np.float32)), ValueError,
     r"weight must have shape \(4,\)"),
    (lambda K: K.batch_norm_backward(X, X.astype(np.int64), C4, C4), TypeError,
     "dy must be float32"),
]


@pytest.mark.parametrize("call, error, match", BATCH_NORM_CASES)
@BOTH
def test_batch_norm_rejects_bad_arguments(K, call, error, match):
    with pytest.raises(error, match=match):
        call(K)


@pytest.mark.parametrize("call", [call for call, error, _ in BATCH_NORM_CASES
                                  if error is ValueError])
def test_batch_norm_shape_errors_read_the_same_from_both_backends(call):
    messages = []
    for K in (C, reference):
        with pytest.raises(ValueError) as info:
            call(K)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "\n" not in messages[0]


@pytest.mark.parametrize("call, error, match", [
    (lambda K: K.add_relu_forward(X, X[0]), ValueError, "add_relu_forward: a .* and b .* differ"),
    (lambda K: K.add_relu_forward(X.astype(np.int32), X), TypeError, "a must be float32"),
    (lambda K: K.add_relu_forward(X, list(X)), TypeError, "b must be a numpy.ndarray"),
])
@BOTH
def test_add_relu_rejects_bad_arguments(K, call, error, match):
    with pytest.raises(error, match=match):
        call(K)


Z = np.zeros((3, 5), np.float32)


@pytest.mark.parametrize("call, error, match", [
    (lambda K: K.softmax_cross_entropy(Z, np.array([0, 1, 5])), ValueError, r"outside \[0, 5\)"),
    (lambda K: K.softmax_cross_entropy(Z, np.array([0, -2, 1])), ValueError, "outside"),
    (lambda K: K.softmax_cross_entropy(Z, np.array([0.0, 1, 2])), TypeError, "integer"),
    (lambda K: K.softmax_cross_entropy(Z, np.array([0, 1])), ValueError, "shape"),
    (lambda K: K.softmax_cross_entropy(Z.astype(np.float16), np.array([0, 1, 2])), TypeError,
     "float32"),
    (lambda K: K.softmax_cross_entropy(Z[0], np.array([0])), ValueError, "2-D"),
    (lambda K: K.softmax_cross_entropy(Z, np.array([0, 1, 2]), reduction="avg"), ValueError,
     "reduction"),
    (lambda K: K.softmax_cross_entropy(Z, np.array([0, 1, 2]), label_smoothing=1.5), ValueError,
     "label_smoothing"),
    (lambda K: K.softmax_cross_entropy(np.zeros((3, 0), np.float32), np.array([0, 1, 2])),
     ValueError, "at least one class"),
])
@BOTH
def test_softmax_xent_rejects_bad_arguments(K, call, error, match):
    with pytest.raises(error, match=match):
        call(K)
