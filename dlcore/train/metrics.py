"""Running sums over a pass through the data, which a task turns into its metrics.

Sums are Python floats (float64) and ints, arrays float64 or int64, so a meter's state is
exact in a checkpoint: a run resumed mid-epoch reports the same metrics as one that never
stopped. What the sums mean is the task's business (:mod:`dlcore.train.tasks`).
"""
from __future__ import annotations

import numpy as np


class Meter:
    """Named sums with counts (``add``) and named array sums (``add_array``).

    ``detailed`` asks tasks for the expensive extras (a confusion matrix) that an evaluation
    report wants and a training log does not.
    """

    def __init__(self, detailed: bool = False):
        self.detailed = detailed
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, name: str, total: float, count: int) -> None:
        """Add ``total`` over ``count`` items to ``name`` (its mean is sum / count)."""
        self.sums[name] = self.sums.get(name, 0.0) + float(total)
        self.counts[name] = self.counts.get(name, 0) + int(count)

    def add_array(self, name: str, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=np.int64 if np.asarray(value).dtype.kind in "iub"
                           else np.float64)
        self.arrays[name] = value.copy() if name not in self.arrays else self.arrays[name] + value

    def mean(self, name: str) -> float | None:
        """sum / count of ``name``; None when nothing was added."""
        count = self.counts.get(name, 0)
        return self.sums[name] / count if count else None

    def __bool__(self) -> bool:
        return any(self.counts.values())

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "counts": dict(self.counts),
                "arrays": {name: value.copy() for name, value in self.arrays.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.sums = {name: float(value) for name, value in state["sums"].items()}
        self.counts = {name: int(value) for name, value in state["counts"].items()}
        self.arrays = {name: np.array(value) for name, value in state["arrays"].items()}
