"""Batch transforms for image inputs x: (N, C, H, W), vectorised over the batch.

Each is called as ``transform(x, rng)``. Random ones draw from ``rng``, which the DataLoader
derives from (seed, epoch, batch index) so a resumed run sees the same augmentations; with
``rng=None`` they draw from dlcore's global generator.
"""
from __future__ import annotations

import numpy as np

from .. import checks
from .. import random as dl_random
from ..ops.resample import linear_weights  # F.interpolate's own indices and weights


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    return dl_random.generator() if rng is None else rng


def _require_images(name: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects images x: (N, C, H, W), got shape {x.shape}")


def deterministic(transform):
    """``transform`` without its random steps (augmentations: a flag ``random = True``), so
    held-out data looks as the model is meant to see it; None when nothing is left."""
    steps = getattr(transform, "transforms", [transform])
    kept = [t for t in steps if t is not None and not getattr(t, "random", False)]
    if len(kept) == len(steps):
        return transform
    return None if not kept else kept[0] if len(kept) == 1 else Compose(*kept)


class Compose:
    """Apply transforms in order."""

    def __init__(self, *transforms):
        self.transforms = transforms

    def __call__(self, x, rng=None):
        for transform in self.transforms:
            x = transform(x, rng)
        return x

    def __repr__(self):
        return f"Compose({', '.join(map(repr, self.transforms))})"


class Normalize:
    """(x - mean) / std per channel; mean and std are scalars or one value per channel."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize mean and std differ in length: {self.mean.shape[0]} "
                             f"vs {self.std.shape[0]}")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize std must be positive, got {self.std.tolist()}")

    def __call__(self, x, rng=None):
        _require_images("Normalize", x)
        channels = self.mean.shape[0]
        if channels not in (1, x.shape[1]):
            raise ValueError(f"Normalize has {channels} channel statistics, input x has shape "
                             f"{x.shape}")
        shape = (1, channels, 1, 1)
        return ((x - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(np.float32)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Resize:
    """Bilinear resize of every image to ``size`` (an int for square, or (h, w)), as
    ``F.interpolate(mode="bilinear", align_corners=False)`` computes it (no antialiasing):
    how the classic 224-pixel networks see 28-pixel Fashion-MNIST."""

    def __init__(self, size):
        self.size = checks.pair("Resize", "size", size, minimum=1)

    def __call__(self, x, rng=None):
        _require_images("Resize", x)
        (top_row, bottom_row, row_weight), (left_col, right_col, col_weight) = (
            linear_weights(old, new) for old, new in zip(x.shape[2:], self.size))
        top, bottom = x[:, :, top_row, :], x[:, :, bottom_row, :]
        x = top + (bottom - top) * row_weight[:, None]
        left, right = x[..., left_col], x[..., right_col]
        return (left + (right - left) * col_weight).astype(np.float32)

    def __repr__(self):
        return f"Resize(size={self.size})"


class RandomCrop:
    """Zero-pad each side by ``padding``, then cut a ``size`` window at a random offset per image.

    x: (N, C, H, W) -> (N, C, size, size)
    """

    random = True

    def __init__(self, size: int, padding: int = 0):
        if size < 1 or padding < 0:
            raise ValueError(f"RandomCrop needs size >= 1 and padding >= 0, got size={size}, "
                             f"padding={padding}")
        self.size, self.padding = size, padding

    def __call__(self, x, rng=None):
        _require_images("RandomCrop", x)
        p = self.padding
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        spare_h, spare_w = padded.shape[2] - self.size, padded.shape[3] - self.size
        if spare_h < 0 or spare_w < 0:
            raise ValueError(f"RandomCrop size {self.size} exceeds the padded input "
                             f"{padded.shape[2:]} (x: {x.shape}, padding {p})")
        generator = _generator(rng)
        n = x.shape[0]
        top = generator.integers(0, spare_h + 1, size=n)
        left = generator.integers(0, spare_w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (self.size, self.size),
                                                           axis=(2, 3))
        # windows: (N, C, H', W', size, size); index image n at (top[n], left[n])
        return np.ascontiguousarray(windows[np.arange(n), :, top, left])

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.  x: (N, C, H, W)"""

    random = True

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x, rng=None):
        _require_images("RandomHorizontalFlip", x)
        flip = _generator(rng).random(x.shape[0]) < self.p
        return np.where(flip[:, None, None, None], x[..., ::-1], x)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"
