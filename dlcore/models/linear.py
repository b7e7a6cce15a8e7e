"""The two one-layer models: linear regression and softmax regression."""
from __future__ import annotations

from dlcore import nn

from .registry import register


@register("linear_regression", task="regression")
def linear_regression(in_features: int = 2, out_features: int = 1) -> nn.Module:
    """y = x Wᵀ + b: x (N, in_features) -> (N, out_features), trained with squared error."""
    return nn.Sequential(nn.Linear(in_features, out_features))


@register("softmax_regression", task="classification")
def softmax_regression(in_features: int = 784, num_classes: int = 10) -> nn.Module:
    """One affine layer to class logits: x (N, ...) flattened to (N, in_features) -> (N, C)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, num_classes))
