"""Fashion-MNIST and MNIST: 28x28 grey images in IDX files, 60,000 for training, 10,000 for test.

The images stay uint8 in memory (47 MB for 60k) and become float32 in [0, 1] one batch at a
time. Fashion-MNIST's files come from ``dl data fetch fashion-mnist``; MNIST has no source we can
fetch offline, so its four files are placed by hand in ``<data dir>/mnist``.
"""
from __future__ import annotations

import os

import numpy as np

from .dataset import ArrayDataset, Transform
from .idx import read_idx
from .storage import DamagedDataError, Resource, require
from .transforms import Normalize

_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

FASHION_MNIST_FILES = Resource(
    name="fashion-mnist",
    files={  # SHA-256 of the decompressed files (their md5s match the upstream release)
        "train-images-idx3-ubyte.gz":
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz":
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz":
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz":
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    system_dir="/usr/share/datasets/fashion-mnist",
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
          "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"),
    debian_package="dataset-fashion-mnist",
)

# No offline source and no checksum: MNIST files are the user's own copy, checked by the IDX header.
MNIST_FILES = Resource(name="mnist", files=dict.fromkeys(_FILES["train"] + _FILES["test"]))


class IdxImages(ArrayDataset):
    """(image, label) pairs from IDX files: images float32 (N, 1, 28, 28) in [0, 1], labels int64.

    ``images`` (N, 28, 28) uint8 and ``labels`` (N,) int64 hold the whole split.
    """

    resource: Resource
    classes: tuple[str, ...]

    def __init__(self, split: str = "train", root: str | os.PathLike | None = None,
                 transform: Transform | None = None):
        if split not in _FILES:
            raise ValueError(f"{type(self).__name__} split must be one of {sorted(_FILES)}, "
                             f"got {split!r}")
        folder = require(self.resource, self.resource.name, root)
        image_file, label_file = _FILES[split]
        try:
            images, labels = read_idx(folder / image_file), read_idx(folder / label_file)
        except ValueError as error:
            raise DamagedDataError(self.resource.name, folder, error) from None
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not "
                             f"form an (N, H, W) / (N,) pair")
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{folder / label_file}: label {labels.max()} outside "
                             f"0..{len(self.classes) - 1}")
        super().__init__(images, labels.astype(np.int64), transform=transform)
        self.split = split

    @property
    def images(self) -> np.ndarray:
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        return self.arrays[1]

    def to_inputs(self, stored):
        return (stored.astype(np.float32) / 255.0)[:, None]

    @property
    def metadata(self) -> dict:
        """input_shape [1, H, W] (after the transform), num_classes, the class names and, when
        the pixels (scaled to [0, 1]) are standardised, the ``normalize`` mean and std: what a
        new image needs to look like the model's inputs."""
        metadata = {**super().metadata, "num_classes": len(self.classes),
                    "classes": list(self.classes)}
        steps = getattr(self.transform, "transforms", [self.transform])
        for step in steps:
            if isinstance(step, Normalize):
                metadata["normalize"] = {"mean": step.mean.tolist(), "std": step.std.tolist()}
        return metadata


class FashionMNIST(IdxImages):
    """Zalando's Fashion-MNIST (MIT licence): 10 kinds of clothing, 6,000 train images each."""

    resource = FASHION_MNIST_FILES
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
    mean, std = 0.2860, 0.3530  # of the training pixels scaled to [0, 1]


class MNIST(IdxImages):
    """LeCun and Cortes' handwritten digits (CC BY-SA 3.0), read from files placed by hand."""

    resource = MNIST_FILES
    classes = tuple(str(digit) for digit in range(10))
    mean, std = 0.1307, 0.3081
