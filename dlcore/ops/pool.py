"""Pooling on the kernel backend: max (routes the gradient to each window's argmax), average,
and adaptive average."""
from __future__ import annotations

import numpy as np

from .. import checks, kernels
from ..tensor import Tensor
from ._args import image_batch
from .linalg import matmul


def _window(op: str, kernel_size, stride, padding):
    """A pooling window's (kernel_size, stride, padding) as (h, w) pairs; stride defaults to
    the window."""
    kernel_size = checks.pair(op, "kernel_size", kernel_size, minimum=1)
    stride = kernel_size if stride is None else checks.pair(op, "stride", stride, minimum=1)
    return kernel_size, stride, checks.pair(op, "padding", padding)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, return_indices: bool = False):
    """input (N, C, H, W) -> (N, C, OH, OW); ``stride`` defaults to ``kernel_size``. With
    ``return_indices``, also the int64 flat ``h * W + w`` of each max in its plane."""
    image_batch(input, "max_pool2d")
    kernel_size, stride, padding = _window("max_pool2d", kernel_size, stride, padding)
    x = np.ascontiguousarray(input.data)
    y, indices = kernels.max_pool2d_forward(x, kernel_size, stride, padding)

    def backward(g):
        return (kernels.max_pool2d_backward(np.ascontiguousarray(g, dtype=x.dtype), indices,
                                            x.shape),)
    out = Tensor._make(y, (input,), backward)
    return (out, Tensor._make(indices, (), None)) if return_indices else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> Tensor:
    """input (N, C, H, W) -> (N, C, OH, OW); ``stride`` defaults to ``kernel_size``."""
    image_batch(input, "avg_pool2d")
    kernel_size, stride, padding = _window("avg_pool2d", kernel_size, stride, padding)
    x = np.ascontiguousarray(input.data)
    y = kernels.avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad)

    def backward(g):
        return (kernels.avg_pool2d_backward(np.ascontiguousarray(g, dtype=x.dtype), x.shape,
                                            kernel_size, stride, padding, count_include_pad),)
    return Tensor._make(y, (input,), backward)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """input (N, C, H, W) -> (N, C, *output_size), averaging PyTorch's bins
    ``[floor(i H / oh), ceil((i + 1) H / oh))``; ``None`` in ``output_size`` keeps that size."""
    image_batch(input, "adaptive_avg_pool2d")
    h, w = input.shape[2:]
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    oh, ow = (full if size is None else size for size, full in zip(sizes, (h, w)))
    if (oh, ow) == (1, 1):
        x = np.ascontiguousarray(input.data)
        y = kernels.global_avg_pool2d_forward(x)[:, :, None, None]
        return Tensor._make(y, (input,), lambda g: (kernels.global_avg_pool2d_backward(
            np.ascontiguousarray(g[:, :, 0, 0], dtype=x.dtype), x.shape),))
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    rows = Tensor._make(_bin_average(h, oh, input.dtype), (), None)
    cols = Tensor._make(_bin_average(w, ow, input.dtype).T, (), None)
    return matmul(matmul(rows, input), cols)


def _bin_average(n: int, bins: int, dtype) -> np.ndarray:
    """(bins, n): row i averages PyTorch's i-th adaptive bin of a length-n axis."""
    matrix = np.zeros((bins, n), dtype=dtype)
    for i in range(bins):
        start, end = (i * n) // bins, -(-((i + 1) * n) // bins)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix
