"""Argument checks shared by layers, ops, optimizers, schedules and kernel wrappers.

One function per kind of mistake, so that a bad ``stride`` reads the same from ``nn.Conv2d``,
``F.conv2d`` or ``kernels.im2col``. Each returns the value normalised (a Python int, an
``(h, w)`` tuple, a float) or raises one clear error naming its ``owner`` — a string such as
``"Conv2d"``, or the object whose class names it (an optimizer or schedule passes ``self``) —
and the argument. Layers check their constructor arguments, ops their runtime inputs; the C
layer checks only what keeps memory safe.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Collection

import numpy as np


def _prefix(owner) -> str:
    if owner is None or owner == "":
        return ""
    return f"{owner if isinstance(owner, str) else type(owner).__name__}: "


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(owner, name: str, value) -> int:
    """``value`` as an int if it is an int > 0 (bools are not ints here)."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{_prefix(owner)}{name} must be a positive int, got {value!r}")
    return int(value)


def pair(owner, name: str, value, minimum: int = 0) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair of ints, each at least ``minimum``, as ``(h, w)``."""
    both = (value, value) if _is_int(value) else value
    if (not isinstance(both, (tuple, list)) or len(both) != 2
            or not all(_is_int(v) and v >= minimum for v in both)):
        raise ValueError(f"{_prefix(owner)}{name} must be an int or a pair of ints >= {minimum}, "
                         f"got {value!r}")
    return int(both[0]), int(both[1])


def in_range(owner, name: str, value, low: float = 0.0, high: float = math.inf, *,
             low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it is a real number in the interval (closed unless told)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(owner)}{name} must be a real number, got {value!r}")
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):  # NaN fails both
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{_prefix(owner)}{name} must be in {interval}, got {value}")
    return float(value)


def one_of(owner, name: str, value, choices: Collection):
    """``value`` if it is one of ``choices`` (listed in their order in the error)."""
    if not isinstance(value, str) or value not in choices:  # choices are strings
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{_prefix(owner)}{name} must be one of {listed}, got {value!r}")
    return value
