"""DenseNet: dense blocks whose every conv sees all earlier outputs, joined by transitions."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from . import _blocks
from ._shapes import through
from .registry import register


def conv_block(in_channels: int, growth_rate: int, nn=dlcore_nn):
    """(N, c, H, W) -> (N, g, H, W): BN → ReLU → conv 3x3 (pre-activation)."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, growth_rate, kernel_size=3, padding=1))


def dense_block(num_convs: int, in_channels: int, growth_rate: int, nn=dlcore_nn):
    """(N, c, H, W) -> (N, c + num_convs·g, H, W): each conv block's g channels are
    concatenated to its input."""
    layers = []
    for i in range(num_convs):
        layers.append(_blocks.concat(nn.Identity(),
                                     conv_block(in_channels + i * growth_rate, growth_rate, nn),
                                     nn=nn))
    return nn.Sequential(*layers)


def transition(in_channels: int, out_channels: int, nn=dlcore_nn):
    """(N, in, H, W) -> (N, out, H/2, W/2): BN → ReLU → conv 1x1 → 2x2 average pool."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


@register("densenet", task="classification")
def densenet(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
             arch: tuple = (4, 4, 4, 4), growth_rate: int = 32, init_channels: int = 64,
             stem: str = "imagenet", *, nn=dlcore_nn):
    """DenseNet as d2l lays it out: x (N, in_channels, S, S) -> logits (N, C); S = 224 classic.

    stem (init_channels) → dense blocks of ``arch`` convs each, growth ``growth_rate``, a
    transition halving channels and size between two blocks → BN → ReLU → global average
    pool → FC C. ``stem="small"`` (one 3x3 conv, no pool) suits 28-32 px images.
    """
    growth_rate = checks.positive_int("densenet", "growth_rate", growth_rate)
    channels = checks.positive_int("densenet", "init_channels", init_channels)
    checks.one_of("densenet", "stem", stem, _blocks.STEMS)
    if not arch or not all(isinstance(n, int) and not isinstance(n, bool)
                                   and n >= 1 for n in arch):
        raise ValueError(f"densenet: arch must list each dense block's number of convs "
                         f"(>= 1), got {arch!r}")
    through("densenet", image_size, _blocks.STEMS[stem] + [(2, 2, 0)] * (len(arch) - 1))
    layers = [_blocks.stem("densenet", stem, in_channels, channels, True, nn=nn)]
    for index, num_convs in enumerate(arch):
        layers.append(dense_block(num_convs, channels, growth_rate, nn))
        channels += num_convs * growth_rate
        if index != len(arch) - 1:
            layers.append(transition(channels, channels // 2, nn))
            channels //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(channels, num_classes))
