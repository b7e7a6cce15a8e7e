"""2-D convolution (cross-correlation, no kernel flip) on the kernel backend."""
from __future__ import annotations

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
    image_batch(input, "conv2d")
    if weight.ndim != 4 or input.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"conv2d: input of shape {input.shape} does not match weight of shape "
                         f"{weight.shape} with groups={groups} (weight must be "
                         "(out_channels, in_channels/groups, kH, kW))")
    if input.dtype != weight.dtype:
        raise TypeError(f"conv2d: input dtype {input.dtype} differs from weight dtype "
                        f"{weight.dtype}")
    stride = checks.pair("conv2d", "stride", stride, minimum=1)
    dilation = checks.pair("conv2d", "dilation", dilation, minimum=1)
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
