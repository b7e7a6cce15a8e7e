"""Conv2d (2-D cross-correlation) and ConvTranspose2d, with PyTorch's arguments and weight
layouts."""
from __future__ import annotations

import numpy as np

from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor


class _Conv(Module):
    """What Conv2d and ConvTranspose2d share: checked channels, groups, kernel, stride and
    dilation, the weight (of the layout ``weight_shape`` gives) and bias in U(±1/√fan_in)
    with PyTorch's fan_in (the weight's dims after the first), and the input check."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, dilation,
                 groups: int, bias: bool):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = checks.positive_int(owner, "in_channels", in_channels)
        self.out_channels = checks.positive_int(owner, "out_channels", out_channels)
        self.groups = checks.positive_int(owner, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{owner} expects in_channels={in_channels} and "
                             f"out_channels={out_channels} to be divisible by groups={groups}")
        self.kernel_size = checks.pair(owner, "kernel_size", kernel_size, minimum=1)
        self.stride = checks.pair(owner, "stride", stride, minimum=1)
        self.dilation = checks.pair(owner, "dilation", dilation, minimum=1)
        self.weight = Parameter(np.empty(self.weight_shape(), dtype=np.float32))
        self.register_parameter(
            "bias", Parameter(np.empty(out_channels, dtype=np.float32)) if bias else None)
        init.fan_in_uniform_(self.weight, self.bias)

    def weight_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _checked(self, x: Tensor) -> Tensor:
        self._check_input(x, self.weight.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self._describe()} expects input (N, {self.in_channels}, H, W) "
                             f"(in_channels={self.in_channels}), got input of shape {x.shape}")
        return x

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}", f"kernel_size={self.kernel_size}",
                 f"stride={self.stride}"]
        for name, default in (("padding", (0, 0)), ("output_padding", (0, 0)),
                              ("dilation", (1, 1))):
            value = getattr(self, name, default)
            if value != default:
                parts.append(f"{name}={value!r}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        return ", ".join(parts)


class Conv2d(_Conv):
    """x (N, C_in, H, W) -> (N, C_out, H_out, W_out), with per side ``padding`` p:
    ``H_out = ⌊(H + 2p − dilation·(kH − 1) − 1) / stride⌋ + 1`` (likewise W).

    ``padding`` is an int, a pair, ``"valid"`` (none) or ``"same"`` (output size = input size;
    stride 1 only). weight (C_out, C_in/groups, kH, kW) and bias (C_out,) start in
    U(±1/√fan_in), fan_in = C_in/groups·kH·kW, PyTorch's default.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        self.padding = _padding(padding, self.stride)

    def weight_shape(self):
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(self._checked(x), self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class ConvTranspose2d(_Conv):
    """x (N, C_in, H, W) -> (N, C_out, H_out, W_out), the transpose of Conv2d (it maps a
    Conv2d's output shape back to its input shape; a generator's way up from a code):
    ``H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1``.

    weight (C_in, C_out/groups, kH, kW), PyTorch's layout, and bias (C_out,) start in
    U(±1/√fan_in) with PyTorch's fan_in = C_out/groups·kH·kW.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        self.padding = checks.pair("ConvTranspose2d", "padding", padding)
        self.output_padding = checks.pair("ConvTranspose2d", "output_padding", output_padding)
        if any(e >= s for e, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"ConvTranspose2d expects output_padding={self.output_padding} "
                             f"smaller than stride={self.stride}")

    def weight_shape(self):
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(self._checked(x), self.weight, self.bias, self.stride,
                                  self.padding, self.output_padding, self.groups, self.dilation)


def _padding(padding, stride: tuple[int, int]) -> str | tuple[int, int]:
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Conv2d expects padding as an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"Conv2d padding='same' needs stride 1, got stride={stride}")
        return padding
    return checks.pair("Conv2d", "padding", padding)
