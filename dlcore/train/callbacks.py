"""What happens at an epoch's end, in this order: evaluate (and stop early), step the
schedule, save the checkpoints."""
from __future__ import annotations

from collections.abc import Callable

from .trainer import Callback, Trainer


class Evaluation(Callback):
    """Every ``every`` epochs (and after the last), measure the model with ``evaluate()`` and
    emit an ``"eval"`` record. Tracks the best value of the ``monitor`` metric (``mode`` "max"
    or "min"); after ``patience`` evaluations without improvement (0 = never) it stops the run.
    """

    def __init__(self, evaluate: Callable[[], dict], split: str, every: int, monitor: str,
                 mode: str, patience: int = 0):
        self.evaluate, self.split, self.every = evaluate, split, every
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.best: dict | None = None  # the best eval record so far
        self.stale = 0  # evaluations since the best
        self.improved = False  # did the latest evaluation set a new best

    def on_epoch_end(self, trainer: Trainer) -> None:
        self.improved = False
        if trainer.epoch % self.every and trainer.epoch != trainer.epochs:
            return
        record = {"kind": "eval", "epoch": trainer.epoch, "step": trainer.global_step,
                  "split": self.split, **self.evaluate()}
        trainer.emit(record)
        value = record[self.monitor]
        if self.best is None or (value > self.best[self.monitor] if self.mode == "max"
                                 else value < self.best[self.monitor]):
            self.best, self.stale, self.improved = record, 0, True
        else:
            self.stale += 1
            if self.patience and self.stale >= self.patience:
                trainer.stop_reason = (f"early stopping: no better eval {self.monitor} in "
                                       f"{self.stale} evaluations")

    def state_dict(self) -> dict:
        return {"best": self.best, "stale": self.stale}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.stale = state["best"], state["stale"]


class ScheduleStep(Callback):
    """Steps a per-epoch lr schedule; ReduceLROnPlateau watches the latest loss (the eval
    loss when this epoch was evaluated, else the training loss)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        trainer.step_schedule(trainer.history[-1]["loss"])


class Snapshot(Callback):
    """Saves ``last`` after every epoch and ``best`` when ``evaluation`` improved."""

    def __init__(self, save: Callable[[str], None], evaluation: Evaluation | None):
        self.save, self.evaluation = save, evaluation

    def on_epoch_end(self, trainer: Trainer) -> None:
        self.save("last")
        if self.evaluation is not None and self.evaluation.improved:
            self.save("best")
