"""What every kernel backend accepts: the argument checks and output geometry shared by the C
binding and the NumPy reference, so both refuse the same calls with the same words.

The C functions check sizes again before touching memory (``dl_conv2d_check``,
``dl_pool2d_check``); that second check is for safety, this one is for the user.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlcore import checks

REDUCTIONS = ("none", "mean", "sum")


class Conv2d(NamedTuple):
    """A convolution's sizes: x (n, c, h, w), w (oc, c/groups, kh, kw) -> y (n, oc, oh, ow)."""
    n: int
    c: int
    h: int
    w: int
    oc: int
    kh: int
    kw: int
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]   # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    oh: int
    ow: int


class Pool2d(NamedTuple):
    """A pooling window's sizes: x (n, c, h, w) -> y (n, c, oh, ow); padding symmetric."""
    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    oh: int
    ow: int


class BatchNorm(NamedTuple):
    """x (N, C, *spatial) as the batch-norm kernels view it: (N, C, S), S the product of the
    spatial dims (1 for (N, C) input)."""
    n: int
    c: int
    s: int


def _shape(name: str, shape, ndim: int, layout: str, op: str) -> tuple[int, ...]:
    shape = tuple(int(v) for v in shape)
    if len(shape) != ndim:
        raise ValueError(f"{op}: {name} must be {layout}, got shape {shape}")
    return shape


def conv2d(x_shape, w_shape, stride, padding, dilation, groups) -> Conv2d:
    """Checked geometry of ``conv2d_forward``/``conv2d_backward``."""
    n, c, h, w = _shape("x", x_shape, 4, "(N, C, H, W)", "conv2d")
    oc, cg, kh, kw = _shape("w", w_shape, 4, "(OC, C/groups, KH, KW)", "conv2d")
    stride = checks.pair("conv2d", "stride", stride, minimum=1)
    dilation = checks.pair("conv2d", "dilation", dilation, minimum=1)
    if (not isinstance(padding, (tuple, list)) or len(padding) != 4
            or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in padding)):
        raise ValueError(f"conv2d: padding must be (top, bottom, left, right) ints >= 0, "
                         f"got {padding!r}")
    pt, pb, pl, pr = (int(v) for v in padding)
    groups = checks.positive_int("conv2d", "groups", groups)
    if c % groups or oc % groups or cg * groups != c:
        raise ValueError(f"conv2d: groups={groups} does not fit x {(n, c, h, w)} and "
                         f"w {(oc, cg, kh, kw)} (need C = groups * w.shape[1], OC % groups == 0)")
    if min(n, c, h, w, oc, kh, kw) < 1:
        raise ValueError(f"conv2d: empty x {(n, c, h, w)} or w {(oc, cg, kh, kw)}")
    (sh, sw), (dh, dw) = stride, dilation
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} (dilation {dilation}) does not fit the "
                         f"padded input {h + pt + pb}x{w + pl + pr} of x {(n, c, h, w)}")
    return Conv2d(n, c, h, w, oc, kh, kw, stride, (pt, pb, pl, pr), dilation, groups, oh, ow)


def im2col(x_shape, kernel_size, stride, padding, dilation) -> Conv2d:
    """Checked geometry of ``im2col``/``col2im`` on one image (C, H, W): a 1-image,
    1-output-channel convolution."""
    c, h, w = _shape("x", x_shape, 3, "(C, H, W)", "im2col")
    kh, kw = checks.pair("im2col", "kernel_size", kernel_size, minimum=1)
    return conv2d((1, c, h, w), (1, c, kh, kw), stride, padding, dilation, 1)


def pool2d(x_shape, kernel_size, stride, padding) -> Pool2d:
    """Checked geometry of the max/average pooling kernels; ``stride`` None is the window."""
    n, c, h, w = _shape("x", x_shape, 4, "(N, C, H, W)", "pool2d")
    kh, kw = checks.pair("pool2d", "kernel_size", kernel_size, minimum=1)
    stride = (kh, kw) if stride is None else checks.pair("pool2d", "stride", stride, minimum=1)
    ph, pw = checks.pair("pool2d", "padding", padding)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"pool2d: padding {(ph, pw)} must be at most half the window "
                         f"{(kh, kw)}")
    if min(n, c, h, w) < 1:
        raise ValueError(f"pool2d: empty input of shape {(n, c, h, w)}")
    oh, ow = (h + 2 * ph - kh) // stride[0] + 1, (w + 2 * pw - kw) // stride[1] + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"pool2d: window {(kh, kw)} does not fit the padded input "
                         f"{(h + 2 * ph, w + 2 * pw)} of x {(n, c, h, w)}")
    return Pool2d(n, c, h, w, kh, kw, stride, (ph, pw), oh, ow)


def softmax_cross_entropy(logits: np.ndarray, target, reduction, label_smoothing) -> float:
    """Check the arguments of ``softmax_cross_entropy`` beside ``logits`` (already a 2-D float
    array); returns ``label_smoothing`` as a float."""
    checks.one_of("softmax_cross_entropy", "reduction", reduction, REDUCTIONS)
    label_smoothing = checks.in_range("softmax_cross_entropy", "label_smoothing",
                                      label_smoothing, 0.0, 1.0)
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: target must be an integer numpy.ndarray of "
                        f"class ids, got {getattr(target, 'dtype', type(target).__name__)}")
    n, c = logits.shape
    if target.shape != (n,):
        raise ValueError(f"softmax_cross_entropy: target must have shape ({n},) for logits "
                         f"{logits.shape}, got {target.shape}")
    if c == 0:
        raise ValueError(f"softmax_cross_entropy: logits must have at least one class, got "
                         f"shape {logits.shape}")
    return label_smoothing


def _batch_norm(op: str, x_shape, required: dict, optional: dict) -> BatchNorm:
    """x (N, C, ...) with no empty dim; each per-channel array of shape (C,), or None when
    optional."""
    shape = tuple(int(v) for v in x_shape)
    if len(shape) < 2:
        raise ValueError(f"{op}: x must be (N, C) or (N, C, ...), got shape {shape}")
    if 0 in shape:
        raise ValueError(f"{op}: empty input of shape {shape}")
    c = shape[1]
    for name, a in {**required, **optional}.items():
        if a is None and name in optional:
            continue
        got = getattr(a, "shape", None)
        if got != (c,):
            what = got if got is not None else "None" if a is None else type(a).__name__
            raise ValueError(f"{op}: {name} must have shape ({c},) for x of shape {shape}, "
                             f"got {what}")
    return BatchNorm(shape[0], c, math.prod(shape[2:]))


def batch_norm_forward(x_shape, weight, bias, mean, var, eps, training) -> tuple[BatchNorm, float]:
    """Checked view of ``batch_norm_forward``; returns it and ``eps`` as a float. mean and var
    are the running statistics evaluation normalises with: given exactly when not training."""
    op = "batch_norm_forward"
    eps = checks.in_range(op, "eps", eps, 0.0)
    if training and (mean is not None or var is not None):
        raise ValueError(f"{op}: mean and var are for training=False; training computes the "
                         f"batch's own")
    if not training and (mean is None or var is None):
        raise ValueError(f"{op}: training=False needs mean and var (the running statistics)")
    running = {} if training else {"mean": mean, "var": var}
    return _batch_norm(op, x_shape, running, {"weight": weight, "bias": bias}), eps


def batch_norm_backward(x_shape, dy_shape, mean, inv_std, weight) -> BatchNorm:
    """Checked view of ``batch_norm_backward``: dy of x's shape, forward's mean and inv_std."""
    g = _batch_norm("batch_norm_backward", x_shape, {"mean": mean, "inv_std": inv_std},
                    {"weight": weight})
    if tuple(dy_shape) != tuple(x_shape):
        raise ValueError(f"batch_norm_backward: dy must have x's shape {tuple(x_shape)}, "
                         f"got {tuple(dy_shape)}")
    return g


#: The recurrent cell kernels: gate count, then each argument in call order as (name, width in
#: units of the hidden size, role): "r" read, "w" updated in place, "o" an output that may be
#: None (the kernel allocates it).
RECURRENT_CELLS = {
    "lstm_cell_forward": (4, (("gates", 4, "w"), ("c_prev", 1, "r"), ("c", 1, "o"),
                              ("h", 1, "o"))),
    "lstm_cell_backward": (4, (("gates", 4, "r"), ("c_prev", 1, "r"), ("c", 1, "r"),
                               ("dh", 1, "r"), ("dc", 1, "w"), ("dgates", 4, "o"))),
    "gru_cell_forward": (3, (("gx", 3, "r"), ("gh", 3, "r"), ("h_prev", 1, "r"),
                             ("gates", 3, "o"), ("h", 1, "o"))),
    "gru_cell_backward": (3, (("gates", 3, "r"), ("gh", 3, "r"), ("h_prev", 1, "r"),
                              ("dh", 1, "r"), ("dgx", 3, "o"), ("dgh", 3, "o"),
                              ("dh_prev", 1, "o"))),
}


def recurrent_cell(op: str, *arrays) -> tuple[int, int]:
    """(n, h) of a recurrent cell kernel's call: every array (n, width·h) as ``RECURRENT_CELLS``
    says, n and h >= 1, all of one dtype, and none that the kernel writes overlapping another.
    Called once per time step, so it is kept lean."""
    gates, spec = RECURRENT_CELLS[op]
    first, head = arrays[0], spec[0][0]
    if not isinstance(first, np.ndarray):
        raise TypeError(f"{op}: {head} must be a numpy.ndarray, got {type(first).__name__}")
    shape = first.shape
    if len(shape) != 2 or shape[1] % gates or 0 in shape:
        raise ValueError(f"{op}: {head} must be (N, {gates} * hidden_size) with N, "
                         f"hidden_size >= 1, got shape {shape}")
    n, h = shape[0], shape[1] // gates
    written, read = [], []
    for (name, width, role), a in zip(spec, arrays):
        if a is None and role == "o":
            continue
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {type(a).__name__}")
        if a.shape != (n, width * h):
            raise ValueError(f"{op}: {name} must have shape {(n, width * h)} for {head} of "
                             f"shape {shape}, got {a.shape}")
        if a.dtype != first.dtype:
            raise TypeError(f"{op}: {name} is {a.dtype}, {head} {first.dtype}: give one dtype")
        (read if role == "r" else written).append((name, a))
    for i, (name, a) in enumerate(written):
        for other, b in written[i + 1:] + read:
            if np.may_share_memory(a, b):
                raise ValueError(f"{op}: {name} and {other} overlap in memory")
    return n, h
