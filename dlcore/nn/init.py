"""Weight initialisers (PyTorch's names and formulas), in place, drawing from dlcore.random.

Each function overwrites ``tensor.data`` in place (so Parameters stay the same objects) and
returns the tensor. Fans follow PyTorch: for a weight ``(out, in, *kernel)``,
``fan_in = in · prod(kernel)`` and ``fan_out = out · prod(kernel)``.
"""
from __future__ import annotations

import math

from dlcore import random
from dlcore.tensor import Tensor

_UNIT_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``:
    1 (linear, sigmoid), 5/3 (tanh), √2 (relu), √(2/(1+slope²)) (leaky_relu), 3/4 (selu)."""
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"leaky_relu gain needs a numeric negative slope, got {slope!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(_UNIT_GAIN)}, tanh, relu, leaky_relu, selu")


def fans(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    _check_tensor(tensor)
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    fan_in, fan_out = fans(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _check_tensor(tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"initialisers work on Tensors/Parameters, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"initialisers need a floating tensor, got dtype {tensor.dtype}")


def _fill(tensor: Tensor, values) -> Tensor:
    tensor.data[...] = values
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples from U(a, b)."""
    _check_tensor(tensor)
    if not a <= b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, random.generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples from N(mean, std²)."""
    _check_tensor(tensor)
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill(tensor, random.generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    _check_tensor(tensor)
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: U(±gain·√(6/(fan_in+fan_out))), i.e. Var = gain²·2/(fan_in+fan_out)."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: N(0, gain²·2/(fan_in+fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He: U(±√3·std) with std = gain/√fan (relu: Var = 2/fan_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He: N(0, std²) with std = gain/√fan (relu: std = √(2/fan_in))."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def fan_in_uniform_(weight: Tensor, bias: Tensor | None = None) -> None:
    """PyTorch's default for Linear and Conv layers: weight and bias from U(±1/√fan_in).

    (PyTorch writes the weight part as ``kaiming_uniform_(a=√5)``, which is this same bound.)
    """
    kaiming_uniform_(weight, a=math.sqrt(5.0))
    if bias is not None:
        bound = 1.0 / math.sqrt(fans(weight)[0])
        uniform_(bias, -bound, bound)

