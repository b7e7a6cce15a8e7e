"""VGG: blocks of 3x3 convolutions, each block closed by a 2x2 max pool, then three FC layers."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from . import _blocks
from ._shapes import through
from .registry import register, variant

#: VGG-11's blocks: (number of 3x3 convs, output channels).
VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
VGG16 = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def vgg_block(num_convs: int, in_channels: int, out_channels: int, nn=dlcore_nn,
              batch_norm: bool = False):
    """(N, in, H, W) -> (N, out, H/2, W/2): ``num_convs`` × (conv 3x3 pad 1 → [BatchNorm] →
    ReLU) → pool."""
    layers = []
    for _ in range(num_convs):
        layers += _blocks.conv_unit(in_channels, out_channels, 3, 1, 1, batch_norm, nn=nn)
        in_channels = out_channels
    return nn.Sequential(*layers, nn.MaxPool2d(kernel_size=2, stride=2))


@register("vgg", task="classification")
def vgg(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
        arch: tuple = VGG11, width: int = 1, fc_width: int = 4096, dropout: float = 0.5,
        batch_norm: bool = False, *, nn=dlcore_nn):
    """VGG (VGG-11 by default): x (N, in_channels, S, S) -> logits (N, C); S = 224 classic.

    ``arch`` lists each block's (num_convs, channels); ``width`` divides the channels. Five
    blocks take 224 to 7; then FC fc_width → dropout → FC fc_width → dropout → FC C.
    ``batch_norm`` (torchvision's vgg11_bn, not in the original) normalises every conv's output.
    """
    width = checks.positive_int("vgg", "width", width)
    if not arch or not all(len(block) == 2 and block[0] >= 1 and block[1] // width >= 1
                           for block in arch):
        raise ValueError(f"vgg: arch must list (num_convs >= 1, channels >= width) pairs, "
                         f"got {arch!r}")
    blocks, channels = [], in_channels
    for num_convs, out in arch:
        blocks.append(vgg_block(num_convs, channels, out // width, nn, batch_norm))
        channels = out // width
    side = through("vgg", image_size, [(2, 2, 0)] * len(arch))
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(channels * side * side, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, num_classes),
    )


variant("vgg11", "vgg", "VGG-11: eight 3x3 convs in five blocks, 64-512 channels", arch=VGG11)
variant("vgg16", "vgg", "VGG-16: thirteen 3x3 convs in five blocks, 64-512 channels", arch=VGG16)
