"""The two ways the later CNNs join branches, as modules of any ``nn`` namespace: a residual sum
(ResNet) and a channel concatenation (GoogLeNet's Inception, DenseNet's dense layers).

Sequential cannot say either, and a builder that takes ``nn`` must build its PyTorch twin with
the same submodule names, so each join is a small Module class made once per namespace.
"""
from __future__ import annotations

import functools
import importlib

from dlcore import checks


def _library(nn):
    """``dlcore`` for ``dlcore.nn``, ``torch`` for ``torch.nn``: where ``cat`` lives."""
    return importlib.import_module(nn.__name__.split(".")[0])


@functools.cache
def _classes(nn):
    library, functional = _library(nn), nn.functional
    # Our fused add+ReLU when the namespace has one; PyTorch composes the two.
    add_relu = getattr(functional, "add_relu", None) or (lambda a, b: functional.relu(a + b))

    class Residual(nn.Module):
        """``relu(body(x) + shortcut(x))``; the shortcut is the identity unless given (a 1x1
        strided conv when the body changes the shape)."""

        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut if shortcut is not None else nn.Identity()

        def forward(self, x):
            return add_relu(self.body(x), self.shortcut(x))

    class Concat(nn.Module):
        """Each branch applied to the same x, the results joined along the channels."""

        def __init__(self, *branches):
            super().__init__()
            self.branches = nn.ModuleList(branches)

        def forward(self, x):
            return library.cat([branch(x) for branch in self.branches], dim=1)

    return Residual, Concat


def residual(body, shortcut=None, *, nn):
    """(N, C, H, W) -> ``relu(body(x) + shortcut(x))``, the shapes of body and shortcut agree."""
    return _classes(nn)[0](body, shortcut)


def concat(*branches, nn):
    """(N, C, H, W) -> (N, ΣCᵢ, H', W'): the branches' outputs stacked along the channels."""
    return _classes(nn)[1](*branches)


def conv_unit(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              padding: int = 0, batch_norm: bool = False, *, nn) -> list:
    """conv → [BatchNorm] → ReLU as a list of layers; with BatchNorm the conv has no bias
    (BatchNorm's shift replaces it)."""
    return ([nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                       bias=not batch_norm)]
            + ([nn.BatchNorm2d(out_channels)] if batch_norm else []) + [nn.ReLU()])


#: The first layers' choices: the classic 7x7/2 conv and 3x3/2 max pool (224 → 56), or one
#: 3x3/1 conv for small images (28-32 px keep their size, as CIFAR adaptations do).
STEMS = {"imagenet": [(7, 2, 3), (3, 2, 1)], "small": [(3, 1, 1)]}


def stem(model: str, kind: str, in_channels: int, out_channels: int, batch_norm: bool, *, nn):
    """(N, in, S, S) -> (N, out, S/4, S/4) for ``"imagenet"``, (N, out, S, S) for ``"small"``;
    conv → [BatchNorm] → ReLU (→ max pool)."""
    checks.one_of(model, "stem", kind, STEMS)
    large = kind == "imagenet"
    layers = conv_unit(in_channels, out_channels, 7 if large else 3, 2 if large else 1,
                       3 if large else 1, batch_norm, nn=nn)
    layers += [nn.MaxPool2d(kernel_size=3, stride=2, padding=1)] if large else []
    return nn.Sequential(*layers)
