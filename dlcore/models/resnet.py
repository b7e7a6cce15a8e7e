"""ResNet and ResNeXt: stages of residual blocks, each block ``relu(F(x) + x)``; ResNeXt's body
splits its 3x3 conv into groups."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from . import _blocks
from ._shapes import through
from .registry import register, variant

#: ResNet-18's stages: (residual blocks, channels); 1 stem conv + 4·2·2 convs + 1 FC = 18.
RESNET18 = ((2, 64), (2, 128), (2, 256), (2, 512))
RESNET34 = ((3, 64), (4, 128), (6, 256), (3, 512))


def residual_block(in_channels: int, out_channels: int, stride: int = 1, nn=dlcore_nn):
    """(N, in, H, W) -> (N, out, H/stride, W/stride): conv 3x3/stride → BN → ReLU → conv 3x3
    → BN, plus the input; a 1x1 strided conv (and BN) carries the input across when the shape
    changes (convs before a BatchNorm need no bias)."""
    body = nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                  bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels))
    return _blocks.residual(body, _shortcut(in_channels, out_channels, stride, nn), nn=nn)


def _shortcut(in_channels: int, out_channels: int, stride: int, nn):
    """None (the identity) when the shape stays, else a 1x1 strided conv and BN."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


def resnext_block(in_channels: int, out_channels: int, stride: int = 1, groups: int = 4,
                  bottleneck: float = 1.0, nn=dlcore_nn):
    """(N, in, H, W) -> (N, out, H/stride, W/stride): conv 1x1 → BN → ReLU → conv 3x3/stride
    in ``groups`` groups → BN → ReLU → conv 1x1 → BN, plus the input (projected as in
    :func:`residual_block`). The middle width is ``round(bottleneck · out)`` (d2l's bot_mul),
    a multiple of ``groups``; d2l's ``groups`` argument is the width of one group."""
    mid = int(round(out_channels * bottleneck))
    if mid < groups or mid % groups:
        raise ValueError(f"resnext: groups {groups} must divide the middle width "
                         f"round(bottleneck * channels) = {mid} of a block with {out_channels} "
                         f"channels (bottleneck {bottleneck})")
    body = nn.Sequential(
        nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
        nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=groups, bias=False),
        nn.BatchNorm2d(mid), nn.ReLU(),
        nn.Conv2d(mid, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
    return _blocks.residual(body, _shortcut(in_channels, out_channels, stride, nn), nn=nn)


@register("resnet", task="classification")
def resnet(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
           arch: tuple = RESNET18, width: int = 1, stem: str = "imagenet", *,
           nn=dlcore_nn):
    """ResNet (ResNet-18 by default): x (N, in_channels, S, S) -> logits (N, C); S = 224 classic.

    stem (64 ch) → stages of ``arch`` (blocks, channels), every stage after the first starting
    with a stride-2 block → global average pool → FC C. ``width`` divides the channels;
    ``stem="small"`` (one 3x3 conv, no pool) keeps 28-32 px images at full size.
    """
    return _network("resnet", num_classes, in_channels, image_size, arch, width, stem,
                    lambda i, o, s: residual_block(i, o, s, nn), nn)


@register("resnext", task="classification")
def resnext(num_classes: int = 10, in_channels: int = 1, image_size: int = 224,
            arch: tuple = RESNET18, width: int = 1, stem: str = "imagenet", groups: int = 4,
            bottleneck: float = 1.0, *, nn=dlcore_nn):
    """ResNeXt: ResNet's layout (``arch``, ``width``, ``stem`` as there) with
    :func:`resnext_block` s, their 3x3 convs in ``groups`` groups of the middle width
    ``round(bottleneck · channels)``: x (N, in_channels, S, S) -> logits (N, C)."""
    groups = checks.positive_int("resnext", "groups", groups)
    bottleneck = checks.in_range("resnext", "bottleneck", bottleneck, low_open=True)
    return _network("resnext", num_classes, in_channels, image_size, arch, width, stem,
                    lambda i, o, s: resnext_block(i, o, s, groups, bottleneck, nn), nn)


def _network(model: str, num_classes, in_channels, image_size, arch, width, stem, block, nn):
    """Stem → stages of ``block(in, out, stride)`` → global average pool → FC, checked."""
    if not arch or not all(len(stage) == 2 and stage[0] >= 1 for stage in arch):
        raise ValueError(f"{model}: arch must list (blocks >= 1, channels) pairs, got {arch!r}")
    width = checks.positive_int(model, "width", width)
    checks.one_of(model, "stem", stem, _blocks.STEMS)
    widths = [channels // width for _, channels in arch]
    if min(widths + [64 // width]) < 1:
        raise ValueError(f"{model}: width {width} leaves a layer without channels")
    through(model, image_size, _blocks.STEMS[stem] + [(3, 2, 1)] * (len(arch) - 1))
    channels = 64 // width
    layers = [_blocks.stem(model, stem, in_channels, channels, True, nn=nn)]
    for index, ((blocks, _), out) in enumerate(zip(arch, widths)):
        for block_index in range(blocks):
            stride = 2 if index > 0 and block_index == 0 else 1
            layers.append(block(channels, out, stride))
            channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_classes))


variant("resnet18", "resnet", "ResNet-18: four stages of two residual blocks, 64-512 channels",
        arch=RESNET18)
variant("resnet34", "resnet", "ResNet-34: stages of 3, 4, 6 and 3 residual blocks", arch=RESNET34)
