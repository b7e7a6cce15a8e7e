"""The training loop: epochs of batches handed to an updater, and callbacks on triggers.

As in Chainer, the trainer runs the loop and nothing else: an :class:`~.updater.Updater` does
each step (and knows the task, the optimizers, the schedules), and callbacks (logging,
evaluation, schedules, checkpoints: :mod:`~.callbacks`) run when their
:class:`~.triggers.Trigger` fires after a step or an epoch, in order. The trainer holds no
task- or model-specific code.

Its whole state (model, updater, data position, RNG, running metrics, callback state, history)
is one tree, :meth:`Trainer.state_dict`, taken between two steps; loading it continues the run
exactly, bit for bit, even between two triggers and mid-epoch.

Every metric goes out as a record (a dict with a ``kind``) through ``report``: ``"step"``
after each step (for progress displays), ``"train"`` from the log callback and ``"eval"`` from
evaluations (``"test"`` for the final one on the test split); all but ``"step"`` are also kept
in :attr:`Trainer.history`.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from dlcore import random as dl_random
from dlcore.data import DataLoader

from .metrics import Meter
from .triggers import Trigger
from .updaters import Updater

Report = Callable[[dict], None]
LOGGED = ("train", "eval", "test")  # the record kinds kept in history (and metrics.jsonl)


class Interrupted(Exception):
    """Training was asked to stop (a signal) and stopped cleanly between two steps."""


class Callback:
    """Runs when ``trigger`` fires (after a step or an epoch); a ``final`` callback also runs
    when training ends, unless it already ran after that step (with no trigger, only then).
    Its state is the trainer's."""

    name = "callback"  # its key in the trainer's state
    final = False

    def __init__(self, trigger: Trigger | None):
        self.trigger = trigger

    def __call__(self, trainer: Trainer) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Callbacks without state accept the empty dict they saved."""


class Trainer:
    """Runs ``updater`` over ``loader`` for ``epochs`` epochs; see the module docstring."""

    def __init__(self, updater: Updater, loader: DataLoader, *, epochs: int,
                 callbacks: tuple[Callback, ...] = (), report: Report | None = None,
                 should_stop: Callable[[], bool] = lambda: False):
        names = [callback.name for callback in callbacks]
        if len(set(names)) != len(names):
            raise ValueError(f"Trainer callbacks need distinct names, got {names}")
        self.updater, self.loader, self.epochs = updater, loader, epochs
        self.callbacks = tuple(callbacks)
        self.report = report or (lambda record: None)
        self.should_stop = should_stop
        self.meter = Meter()  # training metrics since the last log
        self.epoch = 0  # completed epochs
        self.samples = 0
        self.train_seconds = 0.0
        self.stop_reason: str | None = None
        self.history: list[dict] = []
        self.fired = {name: -1 for name in names}  # the step after which each last ran

    @property
    def global_step(self) -> int:
        return self.updater.iteration

    @property
    def step_in_epoch(self) -> int:
        """Steps done in the current epoch (the loader moves on once an epoch is exhausted)."""
        return self.loader.position if self.loader.epoch == self.epoch else 0

    @property
    def current_epoch(self) -> int:
        """The epoch in progress (1-based), or the one just completed between two epochs."""
        return self.epoch + (1 if self.step_in_epoch else 0)

    def emit(self, record: dict) -> None:
        if record["kind"] in LOGGED:
            self.history.append(record)
        self.report(record)

    def fit(self) -> None:
        """Train until ``epochs`` epochs are done or a callback stops the run.

        Raises :class:`Interrupted` when ``should_stop()`` turns true (checked after every
        step, once the step's callbacks ran) and :class:`~.updaters.NonFiniteLoss` on a NaN
        or infinite loss; the state is then that after the last completed step.
        """
        self.report({"kind": "start", "epoch": self.epoch, "epochs": self.epochs,
                     "step": self.global_step, "step_in_epoch": self.step_in_epoch,
                     "steps_per_epoch": len(self.loader)})
        while self.epoch < self.epochs and self.stop_reason is None:
            self._train_epoch()
        self._fire("end")

    def _train_epoch(self) -> None:
        # A run interrupted after an epoch's last step resumes with nothing left to iterate
        # (the loader moves on to the next epoch only when asked for the next batch).
        if not (self.loader.epoch == self.epoch and self.loader.position == len(self.loader)):
            if self.step_in_epoch == 0:
                self.updater.start_epoch()
            started = time.perf_counter()
            for batch in self.loader:
                self.updater.update(batch, self.meter)
                self.samples += len(batch[0])
                self.train_seconds += time.perf_counter() - started
                self.report({"kind": "step", "epoch": self.current_epoch,
                             "step": self.global_step, "step_in_epoch": self.step_in_epoch,
                             "steps_per_epoch": len(self.loader), "samples": self.samples,
                             **self.updater.task.result(self.meter)})
                self._fire("step")
                if self.stop_reason is not None:
                    return
                if self.should_stop():
                    raise Interrupted
                started = time.perf_counter()
        self.epoch += 1
        self._fire("epoch")

    def _fire(self, event: str) -> None:
        for callback in self.callbacks:
            if event == "end":
                due = callback.final and self.fired[callback.name] != self.global_step
            else:
                due = callback.trigger is not None and callback.trigger.fires(
                    event, self.epoch, self.global_step)
            if due:
                self.fired[callback.name] = self.global_step  # before: a save sees it
                callback(self)

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed run needs, as a tree of ndarrays and JSON-able values."""
        return {
            "model": dict(self.updater.model.state_dict()),
            "updater": self.updater.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": dl_random.get_state(),
            "meter": self.meter.state_dict(),
            "callbacks": {c.name: c.state_dict() for c in self.callbacks},
            "fired": dict(self.fired),
            "trainer": {"epoch": self.epoch, "samples": self.samples,
                        "train_seconds": self.train_seconds, "stop_reason": self.stop_reason,
                        "history": self.history},
        }

    def load_state_dict(self, state: dict) -> None:
        self.updater.model.load_state_dict(state["model"])
        self.updater.load_state_dict(state["updater"])
        self.loader.load_state_dict(state["loader"])
        dl_random.set_state(state["rng"])
        self.meter.load_state_dict(state["meter"])
        if set(state["callbacks"]) != set(self.fired):
            raise ValueError(f"the checkpoint's callbacks ({', '.join(state['callbacks'])}) "
                             f"are not this trainer's ({', '.join(self.fired)})")
        for callback in self.callbacks:
            callback.load_state_dict(state["callbacks"][callback.name])
        self.fired = {name: int(step) for name, step in state["fired"].items()}
        trainer = state["trainer"]
        self.epoch, self.samples = int(trainer["epoch"]), int(trainer["samples"])
        self.train_seconds = float(trainer["train_seconds"])
        self.stop_reason = trainer["stop_reason"]
        self.history = list(trainer["history"])
