"""Every dataset by name: how to build it, what it is, its licence and the files it needs.

``dl data list/info/fetch`` and the trainer (``[data] name = …``) go through this table.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import checks
from . import bible, synthetic
from .dataset import Dataset
from .download import Progress, fetch
from .images import FashionMNIST, IdxImages, MNIST
from .storage import Resource
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, Resize


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    builder: Callable[..., Dataset]
    description: str
    licence: str
    resources: tuple[Resource, ...] = ()

    def options(self) -> dict[str, object]:
        """The builder's keyword options (besides ``split``) and their defaults."""
        parameters = inspect.signature(self.builder).parameters.values()
        return {p.name: p.default for p in parameters if p.name != "split"}

    def missing(self) -> list[Resource]:
        """Resources not found on any search path (empty when the dataset can be built)."""
        return [r for r in self.resources if r.locate() is None]


def _image_builder(cls: type[IdxImages]) -> Callable[..., IdxImages]:
    def build(split: str = "train", normalize: bool | str = True, crop_padding: int = 0,
              flip: bool = False, resize: int = 0) -> IdxImages:
        """Augmentation of the train split (never of a validation part or the test split):
        crop_padding p > 0: a random 28x28 crop of the image zero-padded by p; flip: a random
        horizontal flip. Then on every split, resize > 0: bilinear to resize x resize (the
        classic nets' larger inputs); normalize: true standardises with the training pixels'
        mean/std, false keeps pixels in [0, 1] (what a Bernoulli decoder models), "symmetric"
        maps them to [-1, 1] (what a tanh generator makes)."""
        if normalize not in (True, False, "symmetric"):
            raise ValueError(f"{cls.__name__}: normalize must be true, false or \"symmetric\", "
                             f"got {normalize!r}")
        steps = []
        if crop_padding:  # 0 is none; anything else must be a positive int
            padding = checks.positive_int(cls.__name__, "crop_padding", crop_padding)
            steps += [RandomCrop(28, padding=padding)] if split == "train" else []
        if split == "train":
            steps += [RandomHorizontalFlip()] if flip else []
        if resize:  # 0 keeps 28x28
            steps.append(Resize(checks.positive_int(cls.__name__, "resize", resize)))
        if normalize:
            steps.append(Normalize(0.5, 0.5) if normalize == "symmetric"
                         else Normalize(cls.mean, cls.std))
        return cls(split, transform=Compose(*steps) if steps else None)
    return build


_ENTRIES = [
    DatasetEntry("fashion-mnist", _image_builder(FashionMNIST),
                 "Zalando's article images: 28x28 grey, 10 classes, 60,000 train / 10,000 test",
                 "MIT (Expat), (c) 2017 Zalando SE", (FashionMNIST.resource,)),
    DatasetEntry("mnist", _image_builder(MNIST),
                 "handwritten digits, 28x28 grey, 60,000 / 10,000; place the four IDX files in "
                 "<data dir>/mnist (no offline source to fetch from)",
                 "CC BY-SA 3.0, Yann LeCun and Corinna Cortes", (MNIST.resource,)),
    DatasetEntry("kjv", bible.kjv_language_model,
                 "King James Bible as a language-modelling corpus (char or word tokens), "
                 "4.1 M characters, 792 k words",
                 "public domain (outside the UK, where the Crown's letters patent apply)",
                 (bible.KJV_FILES,)),
    DatasetEntry("kjv-rv1909", bible.kjv_rv1909_translation,
                 "31,048 verse-aligned English->Spanish pairs (KJV -> Reina-Valera 1909)",
                 "public domain (KJV: outside the UK; RV1909: everywhere)",
                 (bible.KJV_FILES, bible.RV1909_FILES)),
    DatasetEntry("linear-regression", synthetic.linear_regression,
                 "y = Xw + b + Gaussian noise, generated from a seed", "generated, no licence"),
    DatasetEntry("two-spirals", synthetic.two_spirals,
                 "two interleaved spirals, 2-D points in 2 classes, generated from a seed",
                 "generated, no licence"),
    DatasetEntry("noisy-sine", synthetic.noisy_sine,
                 "sin(0.01 t) plus Gaussian noise as next-value windows, generated from a seed",
                 "generated, no licence"),
    DatasetEntry("gaussian-2d", synthetic.gaussian_2d,
                 "2-D points x = zA + b from a correlated Gaussian, no targets (d2l's GAN "
                 "example), generated from a seed", "generated, no licence"),
]
DATASETS = {entry.name: entry for entry in _ENTRIES}


def dataset_entry(name: str) -> DatasetEntry:
    """The registry entry of ``name``; ValueError listing the known names otherwise."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def get_dataset(name: str, split: str | None = None, *, train: bool | None = None,
                **options) -> Dataset:
    """Build dataset ``name`` for ``split`` (default ``"train"``) with its builder's
    ``options``; torchvision's ``train=True`` / ``train=False`` means split "train" / "test".

    Raises DatasetNotFoundError (saying to run ``dl data fetch NAME``) when its files are absent.
    """
    if train is not None:
        if not isinstance(train, bool) or split is not None:
            raise ValueError(f"get_dataset takes split='train'/'test' or train=True/False, "
                             f"not both; got split={split!r}, train={train!r}")
        split = "train" if train else "test"
    split = "train" if split is None else split
    entry = dataset_entry(name)
    unknown = sorted(set(options) - set(entry.options()))
    if unknown:
        allowed = ", ".join(f"{key}={default!r}" for key, default in entry.options().items())
        raise ValueError(f"dataset {name!r} has no option {', '.join(unknown)}; "
                         f"its options: {allowed}")
    return entry.builder(split, **options)


def fetch_dataset(name: str, progress: Progress | None = None) -> list[Path]:
    """Make every file of ``name`` present (see :func:`.download.fetch`); return their folders."""
    return [fetch(resource, progress) for resource in dataset_entry(name).resources]
