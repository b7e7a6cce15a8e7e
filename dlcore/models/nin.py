"""Network in Network: conv blocks with two 1x1 convolutions, and global average pooling in
place of fully connected layers."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from . import _blocks
from ._shapes import through
from .registry import register


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
              batch_norm: bool = False, nn=dlcore_nn):
    """conv k×k → ReLU → conv 1x1 → ReLU → conv 1x1 → ReLU, all with ``out_channels``; with
    ``batch_norm`` each conv (then bias-free) is followed by BatchNorm before its ReLU."""
    def unit(channels_in, kernel, stride_, pad):
        return _blocks.conv_unit(channels_in, out_channels, kernel, stride_, pad, batch_norm,
                                 nn=nn)
    return nn.Sequential(*unit(in_channels, kernel_size, stride, padding),
                         *unit(out_channels, 1, 1, 0), *unit(out_channels, 1, 1, 0))


@register("nin", task="classification")
def nin(num_classes: int = 10, in_channels: int = 1, image_size: int = 224, width: int = 1,
        dropout: float = 0.5, batch_norm: bool = False, *, nn=dlcore_nn):
    """NiN: x (N, in_channels, S, S) -> logits (N, C); S = 224 is the classic size.

    NiN 96@11x11/4 → pool 3/2 → NiN 256@5x5 → pool → NiN 384@3x3 → pool → dropout → NiN C@3x3 →
    global average pool. ``width`` divides the channels (not the last block's C).
    ``batch_norm`` (not in the original) normalises every conv's output: the classic net's last
    ReLU acts on the class scores, and a class whose scores all go negative never recovers
    (Adam on Fashion-MNIST lost several classes that way); normalised, no class channel can die.
    """
    width = checks.positive_int("nin", "width", width)
    c1, c2, c3 = 96 // width, 256 // width, 384 // width
    through("nin", image_size, [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1),
                                (3, 2, 0), (3, 1, 1)])
    return nn.Sequential(
        nin_block(in_channels, c1, 11, 4, 0, batch_norm, nn), nn.MaxPool2d(3, stride=2),
        nin_block(c1, c2, 5, 1, 2, batch_norm, nn), nn.MaxPool2d(3, stride=2),
        nin_block(c2, c3, 3, 1, 1, batch_norm, nn), nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        nin_block(c3, num_classes, 3, 1, 1, batch_norm, nn), nn.AdaptiveAvgPool2d(1),
        nn.Flatten())
