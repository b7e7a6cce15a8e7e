"""AlexNet as d2l builds it: five convolutions, three pools, two wide dropout FC layers."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from ._shapes import through
from .registry import register


@register("alexnet", task="classification")
def alexnet(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
            width: int = 1, fc_width: int = 4096, dropout: float = 0.5, *, nn=dlcore_nn):
    """AlexNet: x (N, in_channels, S, S) -> logits (N, C); S = 224 is the classic size.

    conv 96@11x11/4 → pool 3/2 → conv 256@5x5 → pool → conv 384 → conv 384 → conv 256 → pool →
    FC fc_width → dropout → FC fc_width → dropout → FC C, ReLU after each conv and hidden FC.
    ``width`` divides every conv's channels (``width=4`` for small, fast runs).
    """
    width = checks.positive_int("alexnet", "width", width)
    c1, c2, c3 = 96 // width, 256 // width, 384 // width
    side = through("alexnet", image_size, [(11, 4, 1), (3, 2, 0), (5, 1, 2), (3, 2, 0),
                                           (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)])
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c2, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
        nn.Linear(c2 * side * side, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, num_classes),
    )
