"""DataLoader: batches of a Dataset in a seeded order that a checkpoint can resume exactly.

Every random choice is a pure function of (seed, epoch, batch index): the shuffle order comes
from a generator keyed by (seed, epoch), each batch's augmentations from one keyed by
(seed, epoch, batch). So the state is three integers, and iterating after
``load_state_dict(state)`` yields exactly the batches an uninterrupted run would have.
"""
from __future__ import annotations

import numpy as np

from .. import checks
from .. import random as dl_random
from .dataset import Dataset, Transform

_ORDER_STREAM = 0  # spawn-key slot of the shuffle order; batch b's augmentations use b + 1


class DataLoader:
    """Iterate over ``dataset`` in batches of NumPy arrays.

    ``seed=None`` draws a seed from dlcore's global generator (so ``manual_seed`` fixes it).
    ``transform(x, rng)`` runs on each batch's inputs after the dataset's own transform.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 transform: Transform | None = None):
        batch_size = checks.positive_int("DataLoader", "batch_size", batch_size)
        if seed is None:
            seed = int(dl_random.generator().integers(2**63))
        elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"DataLoader seed must be a non-negative int or None, got {seed!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.transform = transform
        self.epoch = 0
        self.position = 0  # batches of `epoch` already yielded
        self._resuming = False  # load_state_dict was called: the next iter() continues there
        self._order: tuple[tuple, np.ndarray] | None = None  # an epoch's order, computed once
        if len(self) == 0 and drop_last:  # len: the dataset checks its needs (batch size)
            raise ValueError(f"DataLoader with drop_last=True and batch_size={batch_size} would "
                             f"yield nothing from a dataset of {len(dataset)} samples")

    def __len__(self) -> int:
        """Batches per epoch (of the current one: a dataset may serve a different number of
        samples per epoch than it holds, :meth:`~.dataset.Dataset.epoch_order`)."""
        full, rest = divmod(len(self.order(self.epoch)), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def _generator(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def order(self, epoch: int) -> np.ndarray:
        """The sample keys of ``epoch`` in the order they are served (the dataset's
        :meth:`~.dataset.Dataset.epoch_order`; shuffled by a generator of (seed, epoch))."""
        key = (epoch, self.seed, self.shuffle, self.batch_size)
        if self._order is None or self._order[0] != key:
            rng = self._generator(epoch, _ORDER_STREAM) if self.shuffle else None
            self._order = (key, self.dataset.epoch_order(rng, self.batch_size))
        return self._order[1]

    def __iter__(self):
        """One epoch's batches, as PyTorch's loader gives them: every ``iter()`` starts a new
        epoch (a pass abandoned half-way counts as one), except the first after
        :meth:`load_state_dict`, which serves the rest of the saved epoch."""
        if self._resuming:
            self._resuming = False
        elif self.position > 0:
            self.epoch, self.position = self.epoch + 1, 0
        if self.position >= len(self):
            self.epoch, self.position = self.epoch + 1, 0
        order = self.order(self.epoch)
        while self.position < len(self):
            batch = self.position
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            rng = self._generator(self.epoch, batch + 1)
            arrays = self.dataset.get_batch(indices, rng)
            if self.transform is not None:
                arrays = (self.transform(arrays[0], rng), *arrays[1:])
            self.position += 1
            yield arrays
        self.epoch, self.position = self.epoch + 1, 0

    def state_dict(self) -> dict:
        """Where the loader is: JSON-able ints (a checkpoint stores them)."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict`: the next batch is ``position`` of ``epoch``."""
        expected = {"epoch", "position", "seed"}
        if not isinstance(state, dict) or set(state) != expected \
                or not all(isinstance(state[k], (int, np.integer)) and state[k] >= 0
                           for k in expected):
            raise ValueError(f"DataLoader.load_state_dict expects non-negative ints for "
                             f"{sorted(expected)}, got {state!r}")
        if state["position"] > len(self):
            raise ValueError(f"DataLoader state position {state['position']} exceeds the "
                             f"{len(self)} batches of an epoch")
        self.epoch, self.position, self.seed = (int(state[k]) for k in ("epoch", "position",
                                                                         "seed"))
        self._resuming = True
