"""Trigger arithmetic: when a callback fires, from counters only (wall clock for checkpoints)."""
import pytest

from dlcore.train import Trigger
from dlcore.train import triggers


@pytest.mark.parametrize("value, every, unit, text", [
    (3, 3, "epoch", "3 epochs"), ("1 epoch", 1, "epoch", "1 epoch"),
    ("500 steps", 500, "step", "500 steps"), ("1step", 1, "step", "1 step"),
    (" 2 epochs ", 2, "epoch", "2 epochs")])
def test_parse_counts_epochs_or_steps(value, every, unit, text):
    trigger = Trigger.parse(value)
    assert (trigger.every, trigger.unit, trigger.text) == (every, unit, text)
    assert Trigger.parse(trigger.text) == trigger  # the normalised text reads back


def test_only_clock_triggers_take_minutes_and_seconds():
    assert Trigger.parse("10 minutes", clock=True).every == 600
    assert Trigger.parse("30 seconds", clock=True).unit == "second"
    with pytest.raises(ValueError, match="only checkpoints may be timed"):
        Trigger.parse("10 minutes")


@pytest.mark.parametrize("value", [0, -1, "0 steps", "steps", "2 weeks", 1.5, True, None, [1]])
def test_bad_triggers_are_refused(value):
    with pytest.raises(ValueError, match="must be a positive number of epochs or steps"):
        Trigger.parse(value)


def test_step_triggers_fire_on_multiples_after_steps_only():
    trigger = Trigger.parse("3 steps")
    fired = [step for step in range(1, 11) if trigger.fires("step", 0, step)]
    assert fired == [3, 6, 9]
    assert not trigger.fires("epoch", 1, 3) and not trigger.fires("end", 1, 3)


def test_epoch_triggers_fire_after_every_nth_epoch():
    trigger = Trigger.parse(2)
    assert [epoch for epoch in range(1, 7) if trigger.fires("epoch", epoch, 100 * epoch)] == \
        [2, 4, 6]
    assert not trigger.fires("step", 2, 200)


def test_clock_triggers_restart_their_interval_when_they_fire(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(triggers.time, "monotonic", lambda: now[0])
    trigger = Trigger.parse("1 minute", clock=True)
    assert not trigger.fires("step", 0, 1)
    now[0] += 61
    assert trigger.fires("step", 0, 2) and not trigger.fires("step", 0, 3)
    now[0] += 30
    assert not trigger.fires("epoch", 1, 4)
    now[0] += 31
    assert trigger.fires("epoch", 1, 5) and not trigger.fires("end", 1, 5)
