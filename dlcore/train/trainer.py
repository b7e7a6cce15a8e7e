"""The training loop: an updater (one optimisation step) plus callbacks at each epoch's end.

As in Chainer, the trainer's whole state (model, optimizer, schedule, data position, RNG,
running metrics, callback state, history) is one tree, :meth:`Trainer.state_dict`, taken
between two steps; loading it continues the run exactly, bit for bit, even mid-epoch.

Every metric goes out as a record (a dict with a ``kind``) through ``report``: ``"step"``
after each step (for progress displays), ``"train"`` after each epoch and ``"eval"`` after
each evaluation. The epoch and eval records are also kept in :attr:`Trainer.history`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from dlcore import random as dl_random
from dlcore.data import DataLoader
from dlcore.nn import Module
from dlcore.nn.utils import clip_grad_norm_
from dlcore.optim import Optimizer
from dlcore.optim.lr_scheduler import ReduceLROnPlateau
from dlcore.tensor import Tensor, no_grad

from . import metrics

Report = Callable[[dict], None]
LOGGED = ("train", "eval")  # the record kinds kept in history (and metrics.jsonl)


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; nothing was updated with it."""

    def __init__(self, step: int, loss: float, last_finite: float | None):
        self.step, self.loss, self.last_finite = step, loss, last_finite
        last = "none yet" if last_finite is None else f"{last_finite:.6g}"
        super().__init__(f"the loss is {loss} at step {step} (last finite loss: {last}); "
                         "stopped without updating the parameters. Lower the learning rate or "
                         "set train.clip_grad_norm")


class Interrupted(Exception):
    """Training was asked to stop (a signal) and stopped cleanly between two steps."""


class Callback:
    """Runs at each epoch's end, in order; its state is part of the trainer's."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Callbacks without state accept the empty dict they saved."""


def evaluate(model: Module, loader: DataLoader, task: str, confusion: bool = False) -> dict:
    """Metrics of ``model`` over one pass of ``loader`` in eval mode, without gradients."""
    meter = metrics.Meter(task, confusion)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for inputs, targets in loader:
                output = model(Tensor(inputs))
                value = float(metrics.loss(task, output, targets).item())
                meter.update(value, output.data, targets)
    finally:
        model.train(was_training)
    result = meter.result()
    if meter.matrix is not None:
        result["confusion_matrix"] = meter.matrix.tolist()
    return result


class Trainer:
    """Trains ``model`` on ``loader`` for ``epochs`` epochs; see the module docstring."""

    def __init__(self, model: Module, optimizer: Optimizer, loader: DataLoader, task: str, *,
                 epochs: int, scheduler=None, schedule_interval: str = "epoch",
                 clip_grad_norm: float = 0.0, callbacks: tuple[Callback, ...] = (),
                 report: Report | None = None, should_stop: Callable[[], bool] = lambda: False):
        self.model, self.optimizer, self.loader, self.task = model, optimizer, loader, task
        self.epochs = epochs
        self.scheduler, self.schedule_interval = scheduler, schedule_interval
        self.clip_grad_norm = clip_grad_norm
        self.callbacks = tuple(callbacks)
        self.report = report or (lambda record: None)
        self.should_stop = should_stop
        self.meter = metrics.Meter(task)
        self.epoch = 0  # completed epochs
        self.global_step = 0
        self.samples = 0
        self.train_seconds = 0.0
        self.last_finite_loss: float | None = None
        self.stop_reason: str | None = None
        self.history: list[dict] = []

    @property
    def step_in_epoch(self) -> int:
        """Steps done in the current epoch (the loader moves on once an epoch is exhausted)."""
        return self.loader.position if self.loader.epoch == self.epoch else 0

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def emit(self, record: dict) -> None:
        if record["kind"] in LOGGED:
            self.history.append(record)
        self.report(record)

    def fit(self) -> None:
        """Train until ``epochs`` epochs are done or a callback stops the run.

        Raises :class:`Interrupted` when ``should_stop()`` turns true (checked after every
        step) and :class:`NonFiniteLoss` on a NaN/inf loss; the state is then that after the
        last completed step.
        """
        self.report({"kind": "start", "epoch": self.epoch, "epochs": self.epochs,
                     "step_in_epoch": self.step_in_epoch, "steps_per_epoch": len(self.loader)})
        while self.epoch < self.epochs and self.stop_reason is None:
            self._train_epoch()
            for callback in self.callbacks:
                callback.on_epoch_end(self)

    def _train_epoch(self) -> None:
        samples_before, seconds_before = self.samples, self.train_seconds
        started = time.perf_counter()
        # A run interrupted after an epoch's last step resumes with nothing left to iterate
        # (the loader moves on to the next epoch only when asked for the next batch).
        if not (self.loader.epoch == self.epoch and self.loader.position == len(self.loader)):
            for inputs, targets in self.loader:
                self._step(inputs, targets)
                self.train_seconds += time.perf_counter() - started
                started = time.perf_counter()
                self.report({"kind": "step", "epoch": self.epoch + 1, "step": self.global_step,
                             "step_in_epoch": self.step_in_epoch,
                             "steps_per_epoch": len(self.loader), "samples": self.samples,
                             **self.meter.result()})
                if self.should_stop():
                    raise Interrupted
        self.epoch += 1
        record = {"kind": "train", "epoch": self.epoch, "step": self.global_step,
                  **self.meter.result(), "lr": self.lr}
        self.meter.reset()
        seconds = self.train_seconds - seconds_before
        record["seconds"] = seconds
        record["samples_per_s"] = (self.samples - samples_before) / seconds if seconds else 0.0
        self.emit(record)

    def _step(self, inputs: np.ndarray, targets: np.ndarray) -> None:
        self.model.train()
        output = self.model(Tensor(inputs))
        loss = metrics.loss(self.task, output, targets)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(self.global_step + 1, value, self.last_finite_loss)
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip_grad_norm > 0:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        if self.scheduler is not None and self.schedule_interval == "step":
            self.scheduler.step()
        self.global_step += 1
        self.samples += len(targets)
        self.last_finite_loss = value
        self.meter.update(value, output.data, targets)

    def step_schedule(self, metric: float) -> None:
        """The per-epoch schedule step (``metric`` feeds ReduceLROnPlateau)."""
        if self.scheduler is None or self.schedule_interval != "epoch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(metric)
        else:
            self.scheduler.step()

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed run needs, as a tree of ndarrays and JSON-able values."""
        return {
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": dl_random.get_state(),
            "meter": self.meter.state_dict(),
            "callbacks": [callback.state_dict() for callback in self.callbacks],
            "trainer": {"epoch": self.epoch, "global_step": self.global_step,
                        "samples": self.samples, "train_seconds": self.train_seconds,
                        "last_finite_loss": self.last_finite_loss,
                        "stop_reason": self.stop_reason, "history": self.history},
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.loader.load_state_dict(state["loader"])
        dl_random.set_state(state["rng"])
        self.meter.load_state_dict(state["meter"])
        for callback, saved in zip(self.callbacks, state["callbacks"], strict=True):
            callback.load_state_dict(saved)
        trainer = state["trainer"]
        self.epoch, self.global_step = trainer["epoch"], trainer["global_step"]
        self.samples, self.train_seconds = trainer["samples"], trainer["train_seconds"]
        self.last_finite_loss = trainer["last_finite_loss"]
        self.stop_reason = trainer["stop_reason"]
        self.history = list(trainer["history"])
