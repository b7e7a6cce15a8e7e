"""When a callback runs: every N epochs, every N steps, or every N minutes of training.

A config writes a trigger as ``"500 steps"``, ``"2 epochs"``, ``"10 minutes"`` (or a bare
integer, meaning epochs). Epoch and step triggers are pure functions of the trainer's counters,
so a resumed run fires them exactly where an uninterrupted one would; only a wall-clock trigger
depends on when the run happened to be, which is why only checkpoints may use one (saving a
checkpoint does not change what the run computes).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

UNITS = {"epoch": "epoch", "step": "step", "minute": "second", "second": "second"}
_SECONDS = {"minute": 60, "second": 1}
_TEXT = re.compile(r"\s*(\d+)\s*(epoch|step|minute|second)s?\s*")
#: The moments the trainer offers to its callbacks: after a step, after an epoch, at the end.
EVENTS = ("step", "epoch", "end")


@dataclass(frozen=True)
class Trigger:
    """Fires after every ``every``-th unit: ``unit`` is "epoch", "step" or "second"."""

    every: int
    unit: str
    text: str = field(default="", compare=False)
    started: list = field(default_factory=lambda: [time.monotonic()], compare=False,
                          repr=False)  # wall-clock triggers: when the interval began

    @classmethod
    def parse(cls, value, *, clock: bool = False) -> Trigger:
        """A trigger from ``"500 steps"`` / ``"2 epochs"`` / ``"10 minutes"`` / ``3`` (epochs);
        ValueError saying what is accepted otherwise. ``clock`` allows minutes and seconds."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value} epochs"
        match = _TEXT.fullmatch(value) if isinstance(value, str) else None
        units = "epochs, steps, minutes or seconds" if clock else "epochs or steps"
        if match is None or int(match[1]) < 1:
            raise ValueError(f'must be a positive number of {units} ("2 epochs", "500 steps"'
                             f'{", " + chr(34) + "10 minutes" + chr(34) if clock else ""}), '
                             f"got {value!r}")
        count, unit = int(match[1]), match[2]
        if UNITS[unit] == "second" and not clock:
            raise ValueError(f"must count epochs or steps (only checkpoints may be timed), "
                             f"got {value!r}")
        return cls(count * _SECONDS.get(unit, 1), UNITS[unit], normalise(count, unit))

    def fires(self, event: str, epoch: int, step: int) -> bool:
        """Whether to run after ``event`` ("step" or "epoch"), with ``epoch`` epochs and
        ``step`` steps done. A wall-clock trigger restarts its interval when it fires."""
        if self.unit == "second":
            if event == "end" or time.monotonic() - self.started[0] < self.every:
                return False
            self.started[0] = time.monotonic()
            return True
        count = step if self.unit == "step" else epoch
        return event == self.unit and count % self.every == 0


def normalise(count: int, unit: str) -> str:
    """``"1 epoch"``, ``"500 steps"``: how a resolved config writes a trigger."""
    return f"{count} {unit}{'' if count == 1 else 's'}"
