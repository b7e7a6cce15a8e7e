"""NumPy reference of every kernel: the definition of "correct" for the C backend.

Plain, vectorised NumPy with the same signatures as ``dlcore.kernels._c``; float32 and
float64 both work (gradient checks run in float64). Written for clarity: the convolution and
pooling windows are gathered with one strided slice per kernel offset.
"""
from __future__ import annotations

import math

import numpy as np

from . import contract


def _float_array(name, x, ndim=None):
    """x itself, once it is a float32/float64 ndarray of `ndim` dims (any when None)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype} (shape {x.shape})")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    return x


# ---- GEMM ------------------------------------------------------------------------------

def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    a = _float_array("a", a, 2)
    b = _float_array("b", b, 2)
    opa, opb = (a.T if trans_a else a), (b.T if trans_b else b)
    if opa.shape[1] != opb.shape[0]:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {opa.shape}, "
                         f"op(b) is {opb.shape}")
    out = opa @ opb
    if alpha != 1:
        out *= alpha
    if c is None:
        return out
    if c.shape != out.shape:
        raise ValueError(f"c must have shape {out.shape}, got {c.shape}")
    c[...] = out if beta == 0 else out + beta * c
    return c


# ---- convolution -------------------------------------------------------------------------

def _windows(xp, kh, kw, oh, ow, stride, dilation):
    """Yield (i, j, view): the (…, OH, OW) strided view of padded `xp` under kernel cell i, j."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[..., i * dh: i * dh + sh * (oh - 1) + 1: sh,
                              j * dw: j * dw + sw * (ow - 1) + 1: sw]


def _im2col_batch(x, kh, kw, oh, ow, stride, padding, dilation):
    """x: (..., C, H, W) -> cols (..., C, KH, KW, OH, OW)."""
    pt, pb, pl, pr = padding
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(pt, pb), (pl, pr)])
    cols = np.empty(x.shape[:-2] + (kh, kw, oh, ow), dtype=x.dtype)
    for i, j, view in _windows(xp, kh, kw, oh, ow, stride, dilation):
        cols[..., i, j, :, :] = view
    return cols


def _col2im_batch(cols, x_shape, stride, padding, dilation):
    """Adjoint of _im2col_batch: cols (..., C, KH, KW, OH, OW) summed into (..., C, H, W)."""
    pt, pb, pl, pr = padding
    kh, kw, oh, ow = cols.shape[-4:]
    h, w = x_shape[-2:]
    xp = np.zeros(tuple(x_shape[:-2]) + (h + pt + pb, w + pl + pr), dtype=cols.dtype)
    for i, j, view in _windows(xp, kh, kw, oh, ow, stride, dilation):
        view += cols[..., i, j, :, :]
    return xp[..., pt: pt + h, pl: pl + w]


def conv2d_forward(x, w, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                   groups=1):
    x, w = _float_array("x", x, 4), _float_array("w", w, 4)
    g = contract.conv2d(x.shape, w.shape, stride, padding, dilation, groups)
    cg = g.c // g.groups
    cols = _im2col_batch(x, g.kh, g.kw, g.oh, g.ow, g.stride, g.padding, g.dilation)
    cols = cols.reshape(g.n, g.groups, cg * g.kh * g.kw, g.oh * g.ow)
    wg = w.reshape(g.groups, g.oc // g.groups, cg * g.kh * g.kw)
    y = np.matmul(wg, cols).reshape(g.n, g.oc, g.oh, g.ow)
    if bias is not None:
        bias = _float_array("bias", bias, 1)
        if bias.shape != (g.oc,):
            raise ValueError(f"conv2d: bias must be ({g.oc},), got shape {bias.shape}")
        y += bias.reshape(1, g.oc, 1, 1)
    return y


def conv2d_backward(x, w, dy, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                    need_dx=True, need_dw=True, need_db=True):
    x, w, dy = _float_array("x", x, 4), _float_array("w", w, 4), _float_array("dy", dy, 4)
    g = contract.conv2d(x.shape, w.shape, stride, padding, dilation, groups)
    cg = g.c // g.groups
    if dy.shape != (g.n, g.oc, g.oh, g.ow):
        raise ValueError(f"conv2d_backward: dy must be {(g.n, g.oc, g.oh, g.ow)}, "
                         f"got shape {dy.shape}")
    dyg = dy.reshape(g.n, g.groups, g.oc // g.groups, g.oh * g.ow)
    db = dy.sum(axis=(0, 2, 3)) if need_db else None
    dw = None
    if need_dw:
        cols = _im2col_batch(x, g.kh, g.kw, g.oh, g.ow, g.stride, g.padding, g.dilation)
        cols = cols.reshape(g.n, g.groups, cg * g.kh * g.kw, g.oh * g.ow)
        dw = np.einsum("ngop,ngkp->gok", dyg, cols).reshape(w.shape)
    dx = None
    if need_dx:
        dx = _conv_dx(g, w, dyg, x.shape)
    return dx, dw, db


def conv2d_backward_input(dy, w, x_shape, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                          groups=1):
    w, dy = _float_array("w", w, 4), _float_array("dy", dy, 4)
    x_shape = tuple(int(v) for v in x_shape)
    g = contract.conv2d(x_shape, w.shape, stride, padding, dilation, groups)
    if dy.shape != (g.n, g.oc, g.oh, g.ow):
        raise ValueError(f"conv2d_backward_input: dy must be {(g.n, g.oc, g.oh, g.ow)} for "
                         f"x_shape {x_shape}, got shape {dy.shape}")
    return _conv_dx(g, w, dy.reshape(g.n, g.groups, g.oc // g.groups, g.oh * g.ow), x_shape)


def _conv_dx(g, w, dyg, x_shape):
    """conv2d's input gradient: Wᵀ dy per group, the columns summed back by col2im."""
    cg = g.c // g.groups
    wg = w.reshape(g.groups, g.oc // g.groups, cg * g.kh * g.kw)
    dcols = np.matmul(wg.transpose(0, 2, 1), dyg).reshape(g.n, g.c, g.kh, g.kw, g.oh, g.ow)
    return _col2im_batch(dcols, x_shape, g.stride, g.padding, g.dilation)


def im2col(x, kernel_size, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    x = _float_array("x", x, 3)
    g = contract.im2col(x.shape, kernel_size, stride, padding, dilation)
    cols = _im2col_batch(x, g.kh, g.kw, g.oh, g.ow, g.stride, g.padding, g.dilation)
    return cols.reshape(g.c * g.kh * g.kw, g.oh * g.ow)


def col2im(cols, x_shape, kernel_size, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    cols = _float_array("cols", cols, 2)
    g = contract.im2col(x_shape, kernel_size, stride, padding, dilation)
    if cols.shape != (g.c * g.kh * g.kw, g.oh * g.ow):
        raise ValueError(f"col2im: cols must be {(g.c * g.kh * g.kw, g.oh * g.ow)} for x_shape "
                         f"{tuple(x_shape)}, got shape {cols.shape}")
    return _col2im_batch(cols.reshape(g.c, g.kh, g.kw, g.oh, g.ow), (g.c, g.h, g.w), g.stride,
                         g.padding, g.dilation)


# ---- pooling ---------------------------------------------------------------------------

def _pool_geometry(x_shape, kernel_size, stride, padding):
    """The checked window and its padding per side, as the conv helpers above take it."""
    g = contract.pool2d(x_shape, kernel_size, stride, padding)
    (ph, pw) = g.padding
    return g.kh, g.kw, g.oh, g.ow, g.stride, (ph, ph, pw, pw)


def max_pool2d_forward(x, kernel_size, stride=None, padding=(0, 0)):
    x = _float_array("x", x, 4)
    kh, kw, oh, ow, stride, padding = _pool_geometry(x.shape, kernel_size, stride, padding)
    pt, _, pl, _ = padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pt), (pl, pl)), constant_values=-np.inf)
    windows = np.stack([v for _, _, v in _windows(xp, kh, kw, oh, ow, stride, (1, 1))], axis=2)
    arg = windows.argmax(axis=2)                              # first max in row-major order
    y = np.take_along_axis(windows, arg[:, :, None], axis=2)[:, :, 0]
    top = np.arange(oh)[:, None] * stride[0] - pt
    left = np.arange(ow)[None, :] * stride[1] - pl
    rows, cols = top + arg // kw, left + arg % kw
    # A window of -inf only: argmax found a padding cell, which never wins; the index is the
    # window's first real cell, as in PyTorch.
    pad = (rows < 0) | (rows >= x.shape[2]) | (cols < 0) | (cols >= x.shape[3])
    rows = np.where(pad, np.maximum(top, 0), rows)
    cols = np.where(pad, np.maximum(left, 0), cols)
    return y, (rows * x.shape[3] + cols).astype(np.int64)


def max_pool2d_backward(dy, indices, x_shape):
    n, c, h, w = x_shape
    if indices.shape != dy.shape or dy.shape[:2] != (n, c):
        raise ValueError(f"max_pool2d_backward: dy {dy.shape} / indices {indices.shape} do not "
                         f"match x_shape {tuple(x_shape)}")
    if indices.size and (indices.min() < 0 or indices.max() >= h * w):
        raise ValueError(f"max_pool2d_backward: an index lies outside the input plane {(h, w)}")
    plane = (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
    dx = np.bincount((indices + plane).ravel(), weights=dy.ravel(), minlength=n * c * h * w)
    return dx.astype(dy.dtype).reshape(x_shape)


def _avg_divisor(x_shape, kh, kw, oh, ow, stride, padding, count_include_pad):
    """(OH, OW) divisor of each window: its full size, or the real cells it covers."""
    if count_include_pad:
        return np.float64(kh * kw)
    pt, pb, pl, pr = padding
    ones = np.pad(np.ones(x_shape[2:]), ((pt, pb), (pl, pr)))
    return sum(v for _, _, v in _windows(ones, kh, kw, oh, ow, stride, (1, 1)))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=(0, 0), count_include_pad=True):
    x = _float_array("x", x, 4)
    kh, kw, oh, ow, stride, padding = _pool_geometry(x.shape, kernel_size, stride, padding)
    pt, pb, pl, pr = padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    total = sum(v for _, _, v in _windows(xp, kh, kw, oh, ow, stride, (1, 1)))
    div = _avg_divisor(x.shape, kh, kw, oh, ow, stride, padding, count_include_pad)
    return (total / div).astype(x.dtype)


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=(0, 0),
                        count_include_pad=True):
    dy = _float_array("dy", dy, 4)
    kh, kw, oh, ow, stride, padding = _pool_geometry(tuple(x_shape), kernel_size, stride,
                                                     padding)
    if dy.shape != tuple(x_shape[:2]) + (oh, ow):
        raise ValueError(f"avg_pool2d_backward: dy must be {tuple(x_shape[:2]) + (oh, ow)}, "
                         f"got shape {dy.shape}")
    g = dy / _avg_divisor(x_shape, kh, kw, oh, ow, stride, padding, count_include_pad)
    cols = np.broadcast_to(g[:, :, None, None], dy.shape[:2] + (kh, kw, oh, ow))
    return _col2im_batch(cols, x_shape, stride, padding, (1, 1)).astype(dy.dtype)


def global_avg_pool2d_forward(x):
    x = _float_array("x", x, 4)
    return x.mean(axis=(2, 3), dtype=np.float64).astype(x.dtype)


def global_avg_pool2d_backward(dy, x_shape):
    n, c, h, w = x_shape
    if dy.shape != (n, c):
        raise ValueError(f"global_avg_pool2d_backward: dy {dy.shape} does not match "
                         f"x_shape {tuple(x_shape)}")
    return np.broadcast_to((dy / (h * w))[:, :, None, None], x_shape).astype(dy.dtype)


# ---- batch normalisation -----------------------------------------------------------------

def _per_channel(name, a):
    """A (C,) array (already shape-checked) as float64 column (C, 1); None stays None."""
    return None if a is None else _float_array(name, a, 1).astype(np.float64)[:, None]


def batch_norm_forward(x, weight=None, bias=None, mean=None, var=None, eps=1e-5, training=True):
    """Per channel (dim 1) of x (N, C, ...): ``(x - mean) / sqrt(var + eps) * weight + bias``
    with the batch's mean and biased variance (training) or the given running ones; returns
    ``(y, mean, var, inv_std)``, the statistics (C,). Computed in float64, given in x's dtype."""
    x = _float_array("x", x)
    g, eps = contract.batch_norm_forward(x.shape, weight, bias, mean, var, eps, training)
    x3 = x.reshape(g.n, g.c, g.s).astype(np.float64)
    if training:
        mean = x3.mean(axis=(0, 2))[:, None]
        var = ((x3 - mean) ** 2).mean(axis=(0, 2))[:, None]
    else:
        mean, var = _per_channel("mean", mean), _per_channel("var", var)
    inv_std = 1 / np.sqrt(var + eps)
    weight, bias = _per_channel("weight", weight), _per_channel("bias", bias)
    y = (x3 - mean) * (inv_std if weight is None else inv_std * weight)
    if bias is not None:
        y += bias
    return (y.astype(x.dtype).reshape(x.shape),
            *(v[:, 0].astype(x.dtype) for v in (mean, var, inv_std)))


def batch_norm_backward(x, dy, mean, inv_std, weight=None, training=True, need_dx=True,
                        need_dweight=True, need_dbias=True):
    """Gradients of ``batch_norm_forward`` from its mean and inv_std, xhat recomputed from x:
    ``(dx, dweight, dbias)``, None where not needed; in training mean and var depend on x."""
    x, dy = _float_array("x", x), _float_array("dy", dy)
    g = contract.batch_norm_backward(x.shape, dy.shape, mean, inv_std, weight)
    mean, inv_std = _per_channel("mean", mean), _per_channel("inv_std", inv_std)
    x3, dy3 = (a.reshape(g.n, g.c, g.s).astype(np.float64) for a in (x, dy))
    xhat = (x3 - mean) * inv_std
    dweight = (dy3 * xhat).sum(axis=(0, 2)).astype(x.dtype) if need_dweight else None
    dbias = dy3.sum(axis=(0, 2)).astype(x.dtype) if need_dbias else None
    dx = None
    if need_dx:
        if training:
            dy3 = (dy3 - dy3.mean(axis=(0, 2), keepdims=True)
                   - xhat * (dy3 * xhat).mean(axis=(0, 2), keepdims=True))
        weight = _per_channel("weight", weight)
        dx = (dy3 * (inv_std if weight is None else inv_std * weight)).astype(x.dtype)
        dx = dx.reshape(x.shape)
    return dx, dweight, dbias


# ---- softmax cross-entropy -------------------------------------------------------------

def softmax_cross_entropy(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, need_grad=True):
    logits = _float_array("logits", logits, 2)
    eps = contract.softmax_cross_entropy(logits, target, reduction, label_smoothing)
    n, c = logits.shape
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= c))
    if bad.any():
        raise ValueError(f"target holds class ids outside [0, {c}): {target[bad][:5].tolist()}")
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    t = np.where(valid, target, 0)
    rows = np.arange(n)
    loss = -(1 - eps) * logp[rows, t]
    if eps:  # only then: a -inf logit (a masked class) has a -inf log-probability
        loss = loss - eps * logp.mean(axis=1)
    loss = np.where(valid, loss, 0.0)
    count = int(valid.sum())
    if reduction == "none":
        out, scale = loss, 1.0
    elif reduction == "sum":
        out, scale = loss.sum(), 1.0
    else:
        out = loss.sum() / count if count else np.float64(np.nan)
        scale = 1.0 / count if count else 0.0
    grad = None
    if need_grad:
        grad = np.exp(logp) - eps / c
        grad[rows, t] -= 1 - eps
        grad = np.where(valid[:, None], grad * scale, 0.0).astype(logits.dtype)
    return np.asarray(out, dtype=logits.dtype), grad


# ---- elementwise: ReLU, leaky ReLU, add+ReLU, GELU, axpby ---------------------------------------------------

def relu_forward(x):
    """max(x, 0) elementwise (NaN stays NaN)."""
    x = _float_array("x", x)
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0)).astype(x.dtype, copy=False)


def relu_backward(y, dy):
    """dy where the ReLU output y is positive, else 0 (the derivative at 0 is 0)."""
    y = _float_array("y", y)
    dy = _float_array("dy", dy)
    if y.shape != dy.shape:
        raise ValueError(f"relu_backward: y {y.shape} and dy {dy.shape} differ in shape")
    return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)


def leaky_relu_forward(x, negative_slope):
    """x where x > 0, else negative_slope * x (NaN stays NaN)."""
    x = _float_array("x", x)
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(x, dy, negative_slope):
    """dy where the input x is positive, else negative_slope * dy."""
    x, dy = _float_array("x", x), _float_array("dy", dy)
    if x.shape != dy.shape:
        raise ValueError(f"leaky_relu_backward: x {x.shape} and dy {dy.shape} differ in shape")
    return np.where(x > 0, dy, dy * dy.dtype.type(negative_slope))


def add_relu_forward(a, b):
    """max(a + b, 0) elementwise for a and b of one shape (no broadcasting); its backward is
    ``relu_backward`` of the output, the same gradient for a and b."""
    a, b = _float_array("a", a), _float_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"add_relu_forward: a {a.shape} and b {b.shape} differ in shape")
    return relu_forward(a + b)


def gelu_forward(x):
    """(x Φ(x), Φ(x) + x φ(x)): GELU and its derivative, Φ/φ the standard normal CDF/density
    (Φ(x) = erfc(-x/√2)/2 by math.erfc in float64, exact in the far negative tail too, where
    1 + erf cancels: the value the C kernel approximates)."""
    x = _float_array("x", x)
    wide = x.astype(np.float64)
    cdf = 0.5 * np.vectorize(math.erfc, otypes=[np.float64])(-wide / math.sqrt(2.0))
    slope = cdf + wide * np.exp(-0.5 * wide * wide) / math.sqrt(2.0 * math.pi)
    return (wide * cdf).astype(x.dtype), slope.astype(x.dtype)


def axpby(x, y, alpha=1.0, beta=1.0):
    """``y ← alpha·x + beta·y`` in place, returning y; beta == 0 ignores y's old values (even
    NaN), like BLAS. The optimizers' update step: one pass instead of NumPy's two."""
    x, y = _float_array("x", x), _float_array("y", y)
    if x.shape != y.shape:
        raise ValueError(f"axpby: x {x.shape} and y {y.shape} differ in shape")
    if not y.flags.writeable:
        raise ValueError(f"y must be writeable (shape {y.shape})")
    if beta == 0:
        return np.multiply(x, alpha, out=y)
    if beta != 1:
        y *= beta
    y += alpha * x
    return y


# ---- recurrent cells: the pointwise half of one LSTM / GRU step --------------------------

def _sigmoid(x):
    """1 / (1 + e^-x), without overflow for large negative x."""
    return np.exp(-np.logaddexp(0, -x))


def _checked_cell(op, *arrays):
    n, h = contract.recurrent_cell(op, *arrays)
    _float_array(contract.RECURRENT_CELLS[op][1][0][0], arrays[0])  # and so all of them
    return n, h


def _out(a, shape, like):
    return np.empty(shape, like.dtype) if a is None else a


def lstm_cell_forward(gates, c_prev, c=None, h=None):
    """gates (N, 4H): pre-activations [i|f|g|o], replaced by σ(i), σ(f), tanh(g), σ(o);
    ``c = f·c_prev + i·g`` and ``h = o·tanh(c)`` written into c, h (N, H) (new when None).
    Returns (h, c)."""
    n, hidden = _checked_cell("lstm_cell_forward", gates, c_prev, c, h)
    c, h = _out(c, (n, hidden), gates), _out(h, (n, hidden), gates)
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    i[...], f[...], g[...], o[...] = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
    c[...] = f * c_prev + i * g
    h[...] = o * np.tanh(c)
    return h, c


def lstm_cell_backward(gates, c_prev, c, dh, dc, dgates=None):
    """From forward's activations ``gates``, c_prev and c: dh (N, H) the gradient of h, dc (N, H)
    that of c, replaced by that of c_prev; dgates (N, 4H) receives the gradient of the
    pre-activations. Returns (dgates, dc)."""
    n, hidden = _checked_cell("lstm_cell_backward", gates, c_prev, c, dh, dc, dgates)
    dgates = _out(dgates, (n, 4 * hidden), gates)
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    tc = np.tanh(c)
    dct = dc + dh * o * (1 - tc * tc)
    dgates[:, :hidden] = dct * g * i * (1 - i)
    dgates[:, hidden:2 * hidden] = dct * c_prev * f * (1 - f)
    dgates[:, 2 * hidden:3 * hidden] = dct * i * (1 - g * g)
    dgates[:, 3 * hidden:] = dh * tc * o * (1 - o)
    dc[...] = dct * f
    return dgates, dc


def gru_cell_forward(gx, gh, h_prev, gates=None, h=None):
    """gx = x W_ihᵀ + b_ih and gh = h_prev W_hhᵀ + b_hh (N, 3H), blocks [r|z|n]: ``r = σ(gx_r +
    gh_r)``, ``z = σ(gx_z + gh_z)``, ``n = tanh(gx_n + r·gh_n)`` into gates (N, 3H), and ``h =
    (1 - z)·n + z·h_prev`` into h (N, H). Returns (gates, h)."""
    n, hidden = _checked_cell("gru_cell_forward", gx, gh, h_prev, gates, h)
    gates, h = _out(gates, (n, 3 * hidden), gx), _out(h, (n, hidden), gx)
    r = _sigmoid(gx[:, :hidden] + gh[:, :hidden])
    z = _sigmoid(gx[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
    new = np.tanh(gx[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
    gates[:, :hidden], gates[:, hidden:2 * hidden], gates[:, 2 * hidden:] = r, z, new
    h[...] = (1 - z) * new + z * h_prev
    return gates, h


def gru_cell_backward(gates, gh, h_prev, dh, dgx=None, dgh=None, dh_prev=None):
    """From forward's gates [r|z|n], gh and h_prev, and dh (N, H): the gradients of gx and gh
    (N, 3H), and dh_prev = dh·z (N, H), the part of h_prev's gradient that bypasses gh.
    Returns (dgx, dgh, dh_prev)."""
    n, hidden = _checked_cell("gru_cell_backward", gates, gh, h_prev, dh, dgx, dgh, dh_prev)
    dgx, dgh = _out(dgx, (n, 3 * hidden), gates), _out(dgh, (n, 3 * hidden), gates)
    dh_prev = _out(dh_prev, (n, hidden), gates)
    r, z, new = gates[:, :hidden], gates[:, hidden:2 * hidden], gates[:, 2 * hidden:]
    dn = dh * (1 - z) * (1 - new * new)
    dr = dn * gh[:, 2 * hidden:] * r * (1 - r)
    dz = dh * (h_prev - new) * z * (1 - z)
    dgx[:, :hidden], dgx[:, hidden:2 * hidden], dgx[:, 2 * hidden:] = dr, dz, dn
    dgh[:, :hidden], dgh[:, hidden:2 * hidden], dgh[:, 2 * hidden:] = dr, dz, dn * r
    dh_prev[...] = dh * z
    return dgx, dgh, dh_prev
