"""What runs between steps, in this order when several fire at once: log the training
metrics, evaluate (and stop early), step the per-epoch schedules, save the checkpoint; and at
the end, the test."""
from __future__ import annotations

from collections.abc import Callable

from .errors import ConfigError
from .trainer import Callback, Trainer
from .triggers import Trigger


class LogReport(Callback):
    """Emits a ``"train"`` record of the metrics since the previous one (then starts afresh),
    with each optimizer's lr (``lr``, or ``lr_<role>``), the training seconds and samples/s;
    at the end, whatever the last interval left."""

    name, final = "log", True

    def __init__(self, trigger: Trigger):
        super().__init__(trigger)
        self.samples, self.seconds = 0, 0.0  # the trainer's counters at the previous record

    def __call__(self, trainer: Trainer) -> None:
        if not trainer.meter:
            return
        lrs = trainer.updater.lrs()
        seconds = trainer.train_seconds - self.seconds
        record = {"kind": "train", "epoch": trainer.current_epoch, "step": trainer.global_step,
                  **trainer.updater.task.result(trainer.meter),
                  **({"lr": lrs["model"]} if list(lrs) == ["model"]
                     else {f"lr_{role}": lr for role, lr in lrs.items()}),
                  "seconds": seconds,
                  "samples_per_s": (trainer.samples - self.samples) / seconds if seconds else 0.0}
        trainer.meter.reset()
        self.samples, self.seconds = trainer.samples, trainer.train_seconds
        trainer.emit(record)

    def state_dict(self) -> dict:
        return {"samples": self.samples, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.samples, self.seconds = int(state["samples"]), float(state["seconds"])


class Evaluation(Callback):
    """Measures the model with ``evaluate()`` and emits an ``"eval"`` record, also at the end.
    Tracks the best value of the ``monitor`` metric (``mode`` "max" or "min") and calls
    ``on_improve()`` when it improves; after ``patience`` evaluations without improvement
    (0 = never) it stops the run."""

    name, final = "evaluation", True

    def __init__(self, trigger: Trigger, evaluate: Callable[[], dict], split: str, monitor: str,
                 mode: str, patience: int = 0, on_improve: Callable[[], None] = lambda: None):
        super().__init__(trigger)
        self.evaluate, self.split = evaluate, split
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.on_improve = on_improve
        self.best: dict | None = None  # the best eval record so far
        self.stale = 0  # evaluations since the best

    def __call__(self, trainer: Trainer) -> None:
        record = {"kind": "eval", "epoch": trainer.current_epoch, "step": trainer.global_step,
                  "split": self.split, **self.evaluate()}
        trainer.emit(record)
        if self.monitor not in record:
            raise ConfigError(f"train.monitor = {self.monitor!r}, but the evaluation reported "
                              f"only {', '.join(k for k in record if k not in ('kind', 'split'))}")
        value = record[self.monitor]
        if self.best is None or (value > self.best[self.monitor] if self.mode == "max"
                                 else value < self.best[self.monitor]):
            self.best, self.stale = record, 0
            self.on_improve()
        else:
            self.stale += 1
            if self.patience and self.stale >= self.patience:
                trainer.stop_reason = (f"early stopping: no better eval {self.monitor} in "
                                       f"{self.stale} evaluations")

    def state_dict(self) -> dict:
        return {"best": self.best, "stale": self.stale}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.stale = state["best"], int(state["stale"])


class FinalTest(Callback):
    """When training ends, measures the final model on the test split: a ``"test"`` record.
    (Evaluations while training use the validation part, which picks the best checkpoint.)"""

    name, final = "test", True

    def __init__(self, evaluate: Callable[[], dict], split: str):
        super().__init__(None)
        self.evaluate, self.split = evaluate, split

    def __call__(self, trainer: Trainer) -> None:
        trainer.emit({"kind": "test", "epoch": trainer.current_epoch,
                      "step": trainer.global_step, "split": self.split, **self.evaluate()})


class ScheduleStep(Callback):
    """Steps the per-epoch lr schedules; ReduceLROnPlateau watches the latest recorded loss
    (the eval loss when this epoch was evaluated, else the training loss)."""

    name = "schedule"

    def __call__(self, trainer: Trainer) -> None:
        loss = next((r["loss"] for r in reversed(trainer.history) if "loss" in r), None)
        trainer.updater.step_epoch_schedules(loss)


class Snapshot(Callback):
    """Saves the ``last`` checkpoint (``save("last")``), and once more at the end."""

    name, final = "snapshot", True

    def __init__(self, trigger: Trigger, save: Callable[[str], None]):
        super().__init__(trigger)
        self.save = save

    def __call__(self, trainer: Trainer) -> None:
        self.save("last")


class SampleGrid(Callback):
    """Writes a grid of what a generative model makes at each evaluation:
    ``write(step)`` draws it (from the same seed every time, so the grids show one set of
    codes improving) and returns the PNG's path, which a ``"samples"`` record reports."""

    name, final = "samples", True

    def __init__(self, trigger: Trigger, write: Callable[[int], object]):
        super().__init__(trigger)
        self.write = write

    def __call__(self, trainer: Trainer) -> None:
        trainer.emit({"kind": "samples", "epoch": trainer.current_epoch,
                      "step": trainer.global_step, "path": str(self.write(trainer.global_step))})
