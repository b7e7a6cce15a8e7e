"""The multilayer perceptron."""
from __future__ import annotations

from dlcore import nn as dlcore_nn

from .registry import activation as make_activation
from .registry import register


@register("mlp", task="classification")
def mlp(in_features: int = 784, hidden: tuple[int, ...] = (256,), num_classes: int = 10,
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False, *,
        nn=dlcore_nn):
    """Fully connected layers: x (N, ...) flattened to (N, in_features) -> logits (N, C).

    Each hidden layer is Linear → [BatchNorm1d] → activation → [Dropout(dropout)].
    ``nn=torch.nn`` builds the PyTorch twin.
    """
    if not isinstance(hidden, (list, tuple)) or not hidden:
        raise ValueError(f"mlp: hidden must be a non-empty list of layer widths, got {hidden!r}")
    layers = [nn.Flatten()]
    width = in_features
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(make_activation(activation, nn))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
