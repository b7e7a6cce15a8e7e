"""Normalisation layers: BatchNorm1d/2d (batch statistics in training, running statistics in
evaluation) and LayerNorm (per example, the same in both modes)."""
from __future__ import annotations

import numpy as np

from dlcore.nn import functional as F
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor


class _BatchNorm(Module):
    """``y = γ (x − μ_B) / √(σ²_B + ε) + β`` per channel (dim 1), statistics over every other dim.

    In training, μ_B and σ²_B (biased) come from the batch and, with ``track_running_stats``,
    update the buffers ``running_mean``/``running_var`` (the latter from the unbiased batch
    variance): ``r ← (1 − momentum) r + momentum · stat``; ``momentum=None`` takes the
    cumulative average over ``num_batches_tracked`` batches. Evaluation uses the running
    statistics (or batch statistics when they are not tracked). γ starts at 1, β at 0.
    """

    _input_ndims: tuple[int, ...]
    _input_form: str

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        name = type(self).__name__
        self.num_features = checks.positive_int(name, "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"{name} expects eps > 0, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name} expects momentum in [0, 1] or None, got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter(
            "weight", Parameter(np.ones(num_features, dtype=np.float32)) if affine else None)
        self.register_parameter(
            "bias", Parameter(np.zeros(num_features, dtype=np.float32)) if affine else None)
        for name, initial in (("running_mean", np.zeros(num_features, np.float32)),
                              ("running_var", np.ones(num_features, np.float32)),
                              ("num_batches_tracked", np.array(0, np.int64))):
            self.register_buffer(name, initial if track_running_stats else None)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, self.weight.dtype if self.affine else None)
        if x.ndim not in self._input_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{self._describe()} expects input {self._input_form} with "
                             f"C=num_features={self.num_features}, got input of shape {x.shape}")
        updating = self.training and self.track_running_stats
        momentum = self.momentum
        if momentum is None:  # cumulative average: batch k gets weight 1/k
            momentum = 1.0 / (int(self.num_batches_tracked.data) + 1) if updating else 0.0
        out = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           training=self.training or not self.track_running_stats,
                           momentum=momentum, eps=self.eps)
        if updating:  # counted only once batch_norm has accepted the batch
            self.num_batches_tracked.data += 1
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Per feature of fully connected activations (N, C), or per channel of sequences (N, C, L)."""

    _input_ndims = (2, 3)
    _input_form = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Per channel of images (N, C, H, W), statistics over N, H and W."""

    _input_ndims = (4,)
    _input_form = "(N, C, H, W)"


class LayerNorm(Module):
    """``y = γ (x − μ) / √(σ² + ε) + β`` with μ, σ² (biased) over the trailing
    ``normalized_shape`` dims of each example: x (*, *normalized_shape), same in training and
    evaluation. γ (ones) and β (zeros) have shape ``normalized_shape``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        super().__init__()
        shape = (tuple(normalized_shape) if not isinstance(normalized_shape, (int, np.integer))
                 else (normalized_shape,))
        if not shape:
            raise ValueError("LayerNorm expects a non-empty normalized_shape")
        for size in shape:
            checks.positive_int("LayerNorm", "normalized_shape entry", size)
        if not eps > 0:
            raise ValueError(f"LayerNorm expects eps > 0, got {eps!r}")
        self.normalized_shape = tuple(int(size) for size in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.register_parameter("weight", Parameter(np.ones(shape, dtype=np.float32))
                                if elementwise_affine else None)
        self.register_parameter("bias", Parameter(np.zeros(shape, dtype=np.float32))
                                if elementwise_affine and bias else None)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, None if self.weight is None else self.weight.dtype)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"{self._describe()} expects input (*, "
                             f"{', '.join(map(str, self.normalized_shape))}) "
                             f"(normalized_shape={self.normalized_shape}), "
                             f"got input of shape {x.shape}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
