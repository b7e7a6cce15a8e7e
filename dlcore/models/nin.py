"""Network in Network: conv blocks with two 1x1 convolutions, and global average pooling in
place of fully connected layers."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from ._shapes import through
from .registry import register


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
              nn=dlcore_nn):
    """conv k×k → ReLU → conv 1x1 → ReLU → conv 1x1 → ReLU, all with ``out_channels``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


@register("nin", task="classification")
def nin(num_classes: int = 10, in_channels: int = 1, image_size: int = 224, width: int = 1,
        dropout: float = 0.5, *, nn=dlcore_nn):
    """NiN: x (N, in_channels, S, S) -> logits (N, C); S = 224 is the classic size.

    NiN 96@11x11/4 → pool 3/2 → NiN 256@5x5 → pool → NiN 384@3x3 → pool → dropout → NiN C@3x3 →
    global average pool. ``width`` divides the channels (not the last block's C).
    """
    width = checks.positive_int("nin", "width", width)
    c1, c2, c3 = 96 // width, 256 // width, 384 // width
    through("nin", image_size, [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1),
                                (3, 2, 0), (3, 1, 1)])
    return nn.Sequential(
        nin_block(in_channels, c1, 11, 4, 0, nn), nn.MaxPool2d(3, stride=2),
        nin_block(c1, c2, 5, 1, 2, nn), nn.MaxPool2d(3, stride=2),
        nin_block(c2, c3, 3, 1, 1, nn), nn.MaxPool2d(3, stride=2), nn.Dropout(dropout),
        nin_block(c3, num_classes, 3, 1, 1, nn), nn.AdaptiveAvgPool2d(1), nn.Flatten())
