"""Map-style datasets whose unit of work is a batch: ``get_batch(indices)`` returns arrays.

In-memory datasets answer a whole batch with one fancy-indexing per array, so loading costs no
Python loop per sample. A sample is a batch of one with the batch axis dropped.

``metadata`` says what a dataset holds, in the terms a model builder's options use:
``input_shape``, ``num_classes``, ``classes``, ``target_shape``, ``vocab_size``, ``pad_id`` …
It is plain JSON (str, int, float, bool, lists and dicts of them) and the same for every split.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from .transforms import deterministic

#: ``transform(x, rng)``: a batch of inputs to a batch of inputs; random ones draw from ``rng``.
Transform = Callable[[np.ndarray, "np.random.Generator | None"], np.ndarray]


def check_metadata(metadata: dict) -> dict:
    """``metadata`` itself if it is plain JSON with str keys; TypeError naming the key if not."""
    def plain(value) -> bool:
        if isinstance(value, (list, tuple)):
            return all(map(plain, value))
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        return value is None or type(value) in (str, int, float, bool)  # excludes numpy scalars

    for key, value in metadata.items():
        if not isinstance(key, str) or not plain(value):
            raise TypeError(f"dataset metadata {key!r} must be plain JSON (str, int, float, "
                            f"bool, lists), got {value!r} of type {type(value).__name__}")
    return metadata


class Dataset:
    """A sized collection of samples, each a tuple of arrays, fetched a batch at a time."""

    @property
    def metadata(self) -> dict:
        """What the samples are (see the module docstring); nothing is known here."""
        return {}

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None
                  ) -> tuple[np.ndarray, ...]:
        """The samples at ``indices`` (int array, shape (B,)), stacked along a new first axis."""
        raise NotImplementedError(f"{type(self).__name__} must define get_batch")

    def epoch_order(self, rng: np.random.Generator | None, batch_size: int) -> np.ndarray:
        """The keys :meth:`get_batch` is given in one epoch, in the order they are served
        ``batch_size`` at a time: every index once, shuffled by ``rng`` unless it is None.
        A dataset whose samples depend on the epoch (a text stream cut at a random offset)
        returns other keys; the loader serves whatever this returns."""
        n = len(self)
        return np.arange(n) if rng is None else rng.permutation(n)

    def for_evaluation(self) -> Dataset:
        """The same samples without random augmentation (what a validation part is drawn
        from); itself when nothing is random."""
        return self

    def split_validation(self, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
        """(training part, validation part): ``round(fraction * len)`` samples, at least one,
        drawn without replacement by a generator of ``seed``, so the same seed always holds
        out the same samples (the config records the seed and fraction). The validation part
        is not augmented (:meth:`for_evaluation`)."""
        n = len(self)
        held = max(1, round(fraction * n))
        if held >= n:
            raise ValueError(f"a validation fraction of {fraction} leaves nothing to train on "
                             f"from {n} samples")
        order = np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(_VALIDATION_STREAM,))).permutation(n)
        return (Subset(self, np.sort(order[held:])),
                Subset(self.for_evaluation(), np.sort(order[:held])))

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{type(self).__name__} index must be an int, got {index!r}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__} index {index} out of range for {n} samples")
        key = self.epoch_order(None, 1)[index % n]
        return tuple(a[0] for a in self.get_batch(np.array([key])))


class ArrayDataset(Dataset):
    """Samples are rows of equally long arrays; ``transform`` applies to the first (the inputs).

    arrays: (N, ...) each. Subclasses that store inputs compactly (uint8 images) override
    :meth:`to_inputs` to convert a batch on the way out. ``metadata`` adds to (or overrides)
    what :attr:`metadata` infers from the arrays.
    """

    def __init__(self, *arrays: np.ndarray, transform: Transform | None = None,
                 metadata: dict | None = None):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        arrays = tuple(np.asarray(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError("ArrayDataset arrays must share their first dimension, got shapes "
                             f"{[a.shape for a in arrays]}")
        self.arrays = arrays
        self.transform = transform
        self._metadata = check_metadata(dict(metadata or {}))

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def to_inputs(self, stored: np.ndarray) -> np.ndarray:
        """The model's inputs for a batch of stored inputs (identity here)."""
        return stored

    def for_evaluation(self) -> ArrayDataset:
        steady = deterministic(self.transform)
        if steady is self.transform:
            return self
        view = copy.copy(self)
        view.transform = steady
        return view

    def get_batch(self, indices, rng=None):
        first, *rest = (a[indices] for a in self.arrays)
        inputs = self.to_inputs(first)
        if self.transform is not None:
            inputs = self.transform(inputs, rng)
        return (inputs, *rest)

    @property
    def metadata(self) -> dict:
        """``input_shape`` of float inputs (one sample as the model gets it, transform
        included, which may change it) and ``target_shape`` of float second arrays (regression
        targets), then the ``metadata`` given."""
        inferred = {}
        inputs = self.get_batch(np.arange(min(len(self), 1)), np.random.default_rng(0))[0]
        if np.issubdtype(inputs.dtype, np.floating):
            inferred["input_shape"] = list(inputs.shape[1:])
        if len(self.arrays) > 1 and np.issubdtype(self.arrays[1].dtype, np.floating):
            inferred["target_shape"] = list(self.arrays[1].shape[1:])
        return {**inferred, **copy.deepcopy(self._metadata)}


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (a validation part, a training remainder)."""

    def __init__(self, dataset: Dataset, indices: np.ndarray):
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or (len(indices) and not 0 <= indices.min() <= indices.max()
                                 < len(dataset)):
            raise ValueError(f"Subset indices must be a 1-d array within [0, {len(dataset)})")
        self.dataset, self.indices = dataset, indices
        self._keys = dataset.epoch_order(None, 1)[indices]  # sample i of the unshuffled order

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices, rng=None):
        return self.dataset.get_batch(self._keys[indices], rng)

    def for_evaluation(self) -> Subset:
        steady = self.dataset.for_evaluation()
        return self if steady is self.dataset else Subset(steady, self.indices)

    @property
    def metadata(self) -> dict:
        return self.dataset.metadata


#: The stream of a seed that picks the validation samples (the loader's use others).
_VALIDATION_STREAM = 7


def split_validation(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """(training part, validation part) of ``dataset`` by its own rule
    (:meth:`Dataset.split_validation`: random samples by ``seed``; a text stream's tail)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction!r}")
    return dataset.split_validation(fraction, seed)
