"""GoogLeNet: nine Inception blocks, each four parallel paths joined along the channels."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from . import _blocks
from ._shapes import through
from .registry import register

#: The nine Inception blocks (groups of 2, 5 and 2) as d2l sizes them: c1 (1x1 path),
#: (c2 reduce, c2) (1x1 → 3x3 path), (c3 reduce, c3) (1x1 → 5x5 path), c4 (pool → 1x1 path).
#: Their outputs c1 + c2 + c3 + c4: 256, 480 | 512, 512, 512, 528, 832 | 832, 1024.
INCEPTIONS = (
    ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)),
)


def inception(in_channels: int, c1: int, c2: tuple, c3: tuple, c4: int, nn=dlcore_nn,
              batch_norm: bool = False):
    """(N, in, H, W) -> (N, c1 + c2[1] + c3[1] + c4, H, W): a 1x1 conv, 1x1 → 3x3, 1x1 → 5x5
    and 3x3 max pool → 1x1 side by side, ReLU after every conv ([BatchNorm] before it)."""
    def conv(cin, cout, k):
        return _blocks.conv_unit(cin, cout, k, 1, k // 2, batch_norm, nn=nn)
    return _blocks.concat(
        nn.Sequential(*conv(in_channels, c1, 1)),
        nn.Sequential(*conv(in_channels, c2[0], 1), *conv(c2[0], c2[1], 3)),
        nn.Sequential(*conv(in_channels, c3[0], 1), *conv(c3[0], c3[1], 5)),
        nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
                      *conv(in_channels, c4, 1)),
        nn=nn)


@register("googlenet", task="classification")
def googlenet(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
              width: int = 1, stem: str = "imagenet", batch_norm: bool = False, *,
              nn=dlcore_nn):
    """GoogLeNet: x (N, in_channels, S, S) -> logits (N, C); S = 224 classic.

    stem (conv 64) → conv 64@1x1 → conv 192@3x3 → pool → 2 Inceptions → pool → 5 Inceptions →
    pool → 2 Inceptions → global average pool → FC C (pools 3x3/2). ``width`` divides every
    channel count; ``stem="small"`` (one 3x3 conv, no pool) suits 28-32 px images.
    ``batch_norm`` (BN-Inception's change, not in the original) normalises every conv's output
    before its ReLU: the thin paths of a narrow net train in a few epochs instead of crawling.
    """
    width = checks.positive_int("googlenet", "width", width)
    checks.one_of("googlenet", "stem", stem, _blocks.STEMS)
    if 16 // width < 1:
        raise ValueError(f"googlenet: width {width} leaves a path without channels (at most 16)")
    through("googlenet", image_size, _blocks.STEMS[stem] + [(3, 2, 1)] * 3)

    def w(c):
        return c // width

    def pool():
        return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    layers = [_blocks.stem("googlenet", stem, in_channels, w(64), batch_norm, nn=nn),
              *_blocks.conv_unit(w(64), w(64), 1, batch_norm=batch_norm, nn=nn),
              *_blocks.conv_unit(w(64), w(192), 3, 1, 1, batch_norm, nn=nn), pool()]
    channels = w(192)
    for index, group in enumerate(INCEPTIONS):
        if index:
            layers.append(pool())
        for c1, c2, c3, c4 in group:
            layers.append(inception(channels, w(c1), (w(c2[0]), w(c2[1])),
                                    (w(c3[0]), w(c3[1])), w(c4), nn, batch_norm))
            channels = w(c1) + w(c2[1]) + w(c3[1]) + w(c4)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_classes))
