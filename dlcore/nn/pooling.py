"""Pooling layers: max, average and adaptive average over (N, C, H, W), channels kept."""
from __future__ import annotations

from dlcore.nn import functional as F
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.tensor import Tensor


def _check_image(module: Module, x) -> None:
    module._check_input(x)
    if x.ndim != 4:
        raise ValueError(f"{module._describe()} expects input (N, C, H, W), "
                         f"got input of shape {x.shape}")


class _Pool2d(Module):
    """A window of ``kernel_size`` moved by ``stride`` (default: the window, so 2×2 halves H
    and W) over an input padded by ``padding`` per side:
    ``H_out = ⌊(H + 2·padding − kH) / stride⌋ + 1`` (likewise W)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = checks.pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = (self.kernel_size if stride is None
                       else checks.pair(name, "stride", stride, minimum=1))
        self.padding = checks.pair(name, "padding", padding)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name} expects padding at most half of kernel_size, got "
                             f"padding={self.padding}, kernel_size={self.kernel_size}")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each window; ``return_indices`` also returns each max's flat index
    ``h·W + w`` in its plane."""

    def __init__(self, kernel_size, stride=None, padding=0, return_indices: bool = False):
        super().__init__(kernel_size, stride, padding)
        self.return_indices = return_indices

    def forward(self, x: Tensor):
        _check_image(self, x)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.return_indices)


class AvgPool2d(_Pool2d):
    """The mean of each window; padded zeros count in the mean unless
    ``count_include_pad=False``."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        _check_image(self, x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """(N, C, H, W) -> (N, C, *output_size) whatever H and W; ``AdaptiveAvgPool2d(1)`` is global
    average pooling. ``None`` in ``output_size`` keeps that input size."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
        if len(sizes) != 2:
            raise ValueError(f"AdaptiveAvgPool2d expects output_size as an int or a pair, "
                             f"got {output_size!r}")
        for size in sizes:
            if size is not None:
                checks.positive_int("AdaptiveAvgPool2d", "output_size", size)
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        _check_image(self, x)
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
