"""2-D convolution (cross-correlation, no kernel flip) and its transpose, on the kernel
backend."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import checks, kernels
from ..tensor import Tensor
from ._args import image_batch


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """input (N, C, H, W), weight (OC, C/groups, KH, KW), bias (OC,) -> (N, OC, OH, OW).

    ``padding``: an int, an (h, w) pair, ``"valid"`` (none) or ``"same"`` (stride 1 only; an
    even kernel gets the extra row/column at the bottom/right, as in PyTorch).
    """
    stride, dilation = _check("conv2d", input, weight, groups, stride, dilation,
                              lambda: input.shape[1] == weight.shape[1] * groups,
                              "(out_channels, in_channels/groups, kH, kW)")
    sides = _padding(padding, weight.shape[2:], stride, dilation)
    x = np.ascontiguousarray(input.data)
    y = kernels.conv2d_forward(x, weight.data, None if bias is None else bias.data,
                               stride, sides, dilation, groups)

    def backward(g):
        dx, dw, db = kernels.conv2d_backward(
            x, weight.data, np.ascontiguousarray(g, dtype=x.dtype), stride, sides, dilation,
            groups, need_dx=input.requires_grad, need_dw=weight.requires_grad,
            need_db=bias is not None and bias.requires_grad)
        return (dx, dw) if bias is None else (dx, dw, db)
    parents = (input, weight) if bias is None else (input, weight, bias)
    return Tensor._make(y, parents, backward)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """input (N, C, H, W), weight (C, OC/groups, KH, KW), bias (OC,) -> (N, OC, OH, OW) with
    ``OH = (H − 1)·stride − 2·padding + dilation·(KH − 1) + output_padding + 1``.

    The transpose of conv2d: its forward pass is conv2d's input gradient (each input element
    scales the kernel and scatters into the output), its backward pass conv2d's forward (for
    the input) and weight gradient (for the weight), so it runs on the same kernels.
    ``output_padding`` (< stride) picks among the output sizes a strided conv2d maps to H.
    """
    stride, dilation = _check("conv_transpose2d", input, weight, groups, stride, dilation,
                              lambda: (input.shape[1] == weight.shape[0]
                                       and weight.shape[0] % groups == 0),
                              "(in_channels, out_channels/groups, kH, kW)")
    ph, pw = checks.pair("conv_transpose2d", "padding", padding)
    extra = checks.pair("conv_transpose2d", "output_padding", output_padding)
    if extra[0] >= stride[0] or extra[1] >= stride[1]:
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be smaller than "
                         f"stride {stride}")
    n, _, h, w = input.shape
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, s, p, d, k, e in zip(
        (h, w), stride, (ph, pw), dilation, weight.shape[2:], extra))
    if min(size) < 1:
        raise ValueError(f"conv_transpose2d: padding {(ph, pw)} leaves no output for input "
                         f"{input.shape} and kernel {weight.shape[2:]} (output size {size})")
    sides = (ph, ph, pw, pw)
    x = np.ascontiguousarray(input.data)
    out_shape = (n, weight.shape[1] * groups, *size)
    y = kernels.conv2d_backward_input(x, weight.data, out_shape, stride, sides, dilation, groups)
    if bias is not None:
        y += bias.data.reshape(1, -1, 1, 1)

    def backward(g):
        g = np.ascontiguousarray(g, dtype=x.dtype)
        dx = (kernels.conv2d_forward(g, weight.data, None, stride, sides, dilation, groups)
              if input.requires_grad else None)
        dw = (kernels.conv2d_backward(g, weight.data, x, stride, sides, dilation, groups,
                                      need_dx=False, need_dw=True, need_db=False)[1]
              if weight.requires_grad else None)
        if bias is None:
            return dx, dw
        return dx, dw, (g.sum(axis=(0, 2, 3)) if bias.requires_grad else None)
    parents = (input, weight) if bias is None else (input, weight, bias)
    return Tensor._make(y, parents, backward)


def _check(op: str, input: Tensor, weight: Tensor, groups: int, stride, dilation,
           fits: Callable[[], bool], layout: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """The shared argument checks (``fits()``: a 4-D weight's channels match the input's in
    ``layout``); the stride and dilation as pairs."""
    image_batch(input, op)
    if weight.ndim != 4 or not fits():
        raise ValueError(f"{op}: input of shape {input.shape} does not match weight of shape "
                         f"{weight.shape} with groups={groups} (weight must be {layout})")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} differs from weight dtype "
                        f"{weight.dtype}")
    return (checks.pair(op, "stride", stride, minimum=1),
            checks.pair(op, "dilation", dilation, minimum=1))


def _padding(padding, kernel_size, stride, dilation) -> tuple[int, int, int, int]:
    """PyTorch's padding argument as per-side ``(top, bottom, left, right)``."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"conv2d padding='same' needs stride 1, got stride {stride}")
        th, tw = (d * (k - 1) for d, k in zip(dilation, kernel_size))
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    if isinstance(padding, str):
        raise ValueError(f"conv2d padding must be an int, a pair, 'same' or 'valid', "
                         f"got {padding!r}")
    ph, pw = checks.pair("conv2d", "padding", padding)
    return ph, ph, pw, pw
