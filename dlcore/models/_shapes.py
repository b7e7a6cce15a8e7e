"""Feature-map sizes through convolutions and pools, so a builder knows its flatten width for
any input size, and refuses one too small with a clear message."""
from __future__ import annotations


def out_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """``⌊(size + 2·padding − kernel) / stride⌋ + 1``, the side of a conv or pool output."""
    return (size + 2 * padding - kernel) // stride + 1


def through(model: str, size: int, steps) -> int:
    """``size`` after each ``(kernel, stride, padding)`` of ``steps``; ValueError naming the
    model when a step has nothing left to slide over."""
    for kernel, stride, padding in steps:
        new = out_size(size, kernel, stride, padding)
        if new < 1:
            raise ValueError(f"the input is too small for {model}'s layers (a {kernel}x"
                             f"{kernel} window with stride {stride} on a {size}x{size} map); "
                             "give it larger images")
        size = new
    return size
