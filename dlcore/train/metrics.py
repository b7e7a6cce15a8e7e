"""Each task's loss and the running metrics over a pass through the data.

Sums are kept as Python floats (float64) and ints, so a meter's state is JSON-exact: a run
resumed mid-epoch reports the same epoch metrics as one that never stopped.
"""
from __future__ import annotations

import math

import numpy as np

from dlcore.nn import functional as F
from dlcore.tensor import Tensor


def loss(task: str, output: Tensor, target: np.ndarray) -> Tensor:
    """The mean loss of a batch for ``task``.

    classification: output (N, C), target (N,) int; regression: output and target (N, K);
    language_model: output (N, T, V), target (N, T) int.
    """
    if task == "regression":
        return F.mse_loss(output, Tensor(target))
    if task == "language_model":
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
    return F.cross_entropy(output, target)


class Meter:
    """Loss (weighted by the items each batch holds), accuracy and, for classification, a
    confusion matrix (rows: true class, columns: predicted) when ``confusion`` is asked for."""

    def __init__(self, task: str, confusion: bool = False):
        self.task = task
        self.confusion = confusion
        self.reset()

    def reset(self) -> None:
        self.loss_sum, self.items, self.correct = 0.0, 0, 0
        self.matrix: np.ndarray | None = None

    def update(self, batch_loss: float, output: np.ndarray, target: np.ndarray) -> None:
        """Add a batch: its mean loss, the model's output and the targets (NumPy arrays)."""
        items = target.size if self.task == "language_model" else len(target)
        self.loss_sum += batch_loss * items
        self.items += items
        if self.task == "regression":
            return
        predicted = output.argmax(axis=-1)
        self.correct += int((predicted == target).sum())
        if self.confusion and self.task == "classification":
            classes = output.shape[-1]
            if self.matrix is None:
                self.matrix = np.zeros((classes, classes), dtype=np.int64)
            np.add.at(self.matrix, (target, predicted), 1)

    def result(self) -> dict:
        """``loss``, plus ``accuracy`` (classification, language models) and ``perplexity``
        (language models, ``exp(loss)``)."""
        if self.items == 0:
            return {}
        mean = self.loss_sum / self.items
        metrics = {"loss": mean}
        if self.task != "regression":
            metrics["accuracy"] = self.correct / self.items
        if self.task == "language_model":
            metrics["perplexity"] = math.exp(mean) if mean < 700 else math.inf
        return metrics

    def state_dict(self) -> dict:
        return {"loss_sum": self.loss_sum, "items": self.items, "correct": self.correct}

    def load_state_dict(self, state: dict) -> None:
        self.loss_sum, self.items, self.correct = (state[k] for k in ("loss_sum", "items",
                                                                      "correct"))


def monitor(task: str) -> tuple[str, str]:
    """The eval metric that decides the best checkpoint and early stopping, and whether more
    (``"max"``) or less (``"min"``) is better: accuracy for classifiers, loss otherwise."""
    return ("accuracy", "max") if task == "classification" else ("loss", "min")
