"""Generated datasets, reproducible from a seed: each split draws from its own stream of it."""
from __future__ import annotations

import numpy as np

from .. import checks
from .dataset import ArrayDataset

SPLITS = ("train", "test")


def _generator(seed: int, split: str) -> np.random.Generator:
    checks.one_of(None, "split", split, SPLITS)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPLITS.index(split),)))


def linear_regression(split: str = "train", num_samples: int = 1000,
                      weights: tuple[float, ...] = (2.0, -3.4), bias: float = 4.2,
                      noise: float = 0.01, seed: int = 0) -> ArrayDataset:
    """y = X w + b + noise, X ~ N(0, 1).  X: (N, len(weights)) float32, y: (N, 1) float32."""
    checks.positive_int(None, "num_samples", num_samples)
    rng = _generator(seed, split)
    w = np.asarray(weights, dtype=np.float64).reshape(-1, 1)
    x = rng.standard_normal((num_samples, w.shape[0]))
    y = x @ w + bias + noise * rng.standard_normal((num_samples, 1))
    return ArrayDataset(x.astype(np.float32), y.astype(np.float32))


def two_spirals(split: str = "train", num_samples: int = 1000, turns: float = 1.5,
                noise: float = 0.02, seed: int = 0) -> ArrayDataset:
    """Two interleaved spirals in the plane, one per class.  X: (N, 2) float32, y: (N,) int64.

    Not linearly separable: a classic first test of what a hidden layer buys.
    """
    checks.positive_int(None, "num_samples", num_samples)
    rng = _generator(seed, split)
    labels = rng.integers(0, 2, size=num_samples)
    radius = rng.random(num_samples)
    angle = 2 * np.pi * turns * radius + np.pi * labels  # the second arm is the first turned 180°
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points += noise * rng.standard_normal((num_samples, 2))
    return ArrayDataset(points.astype(np.float32), labels.astype(np.int64),
                        metadata={"num_classes": 2})


def noisy_sine(split: str = "train", length: int = 1000, num_steps: int = 4,
               noise: float = 0.2, seed: int = 0) -> ArrayDataset:
    """x_t = sin(0.01 t) + N(0, noise²), t = 1..length, cut into next-value regression windows.

    features: (length - num_steps, num_steps) float32, the values before t; targets: (…, 1) x_t.
    """
    checks.positive_int(None, "num_steps", num_steps)
    if length <= num_steps:
        raise ValueError(f"length must exceed num_steps, got length={length}, "
                         f"num_steps={num_steps}")
    rng = _generator(seed, split)
    time = np.arange(1, length + 1)
    series = np.sin(0.01 * time) + noise * rng.standard_normal(length)
    windows = np.lib.stride_tricks.sliding_window_view(series, num_steps + 1)
    return ArrayDataset(windows[:, :-1].astype(np.float32), windows[:, -1:].astype(np.float32))


# d2l's GAN chapter: a linear map of a standard normal, so the true law is N(b, A^T A).
_GAUSSIAN_A = np.array([[1.0, 2.0], [-0.1, 0.5]])
_GAUSSIAN_B = np.array([1.0, 2.0])


def gaussian_2d(split: str = "train", num_samples: int = 1000, seed: int = 0) -> ArrayDataset:
    """x = z A + b, z ~ N(0, I_2): samples (x,) with x: (N, 2) float32 and no targets.

    Data for a GAN to learn; metadata gives the true ``mean`` b and ``cov`` A^T A.
    """
    checks.positive_int(None, "num_samples", num_samples)
    rng = _generator(seed, split)
    x = rng.standard_normal((num_samples, 2)) @ _GAUSSIAN_A + _GAUSSIAN_B
    return ArrayDataset(x.astype(np.float32), metadata={
        "mean": _GAUSSIAN_B.tolist(), "cov": (_GAUSSIAN_A.T @ _GAUSSIAN_A).tolist()})
