"""Feed-forward building blocks: Linear (affine), Identity, Flatten and Unflatten."""
from __future__ import annotations

import math

import numpy as np

from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor


class Identity(Module):
    """Returns its input: a placeholder, e.g. for a removed head or an unused shortcut."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, 3, 28, 28) -> (N, 2352)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        self._require_tensor(x)
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 3136) -> (N, 64, 7, 7), a decoder's way
    from a code vector to feature maps."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(
            checks.positive_int("Unflatten", "unflattened_size", n) for n in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        self._require_tensor(x)
        dim = self.dim % x.ndim if -x.ndim <= self.dim < x.ndim else None
        if dim is None or x.shape[dim] != math.prod(self.unflattened_size):
            raise ValueError(f"{self._describe()} expects dim {self.dim} of size "
                             f"{math.prod(self.unflattened_size)}, got input of shape {x.shape}")
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Linear(Module):
    """``y = x Wᵀ + b``: x (*, in_features) -> (*, out_features).

    weight (out_features, in_features) and bias (out_features,) start in U(±1/√in_features),
    PyTorch's default.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = checks.positive_int("Linear", "in_features", in_features)
        self.out_features = checks.positive_int("Linear", "out_features", out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        self.register_parameter(
            "bias", Parameter(np.empty(out_features, dtype=np.float32)) if bias else None)
        init.fan_in_uniform_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self._describe()} expects in_features={self.in_features}, "
                             f"got input of shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
