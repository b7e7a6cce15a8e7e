"""What every learning-rate scheduler shares: the optimizer it drives and a JSON-able state.

PyTorch semantics: ``last_epoch`` counts the scheduler's steps (``-1`` = fresh); constructing
a scheduler performs step 0, which sets each group's ``lr`` and records ``initial_lr``;
``step()`` advances one step; ``get_last_lr()`` is what the last step set.
"""
from __future__ import annotations

import copy

from dlcore.optim.optimizer import Optimizer


class Scheduler:
    """Holds the optimizer; saves every attribute but those in ``_not_saved`` (plain values)."""

    _not_saved: tuple[str, ...] = ("optimizer",)

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} expects a dlcore.optim Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set, one per parameter group."""
        return list(self._last_lr)

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def state_dict(self) -> dict:
        """Numbers, strings and lists only, so ``json.dumps`` takes it as it is."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in self._not_saved})

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned (the optimizer's lrs come from its own
        state)."""
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{type(self).__name__}.load_state_dict expects keys "
                             f"{sorted(expected)}, got {got}")
        vars(self).update(copy.deepcopy(state_dict))


class LRScheduler(Scheduler):
    """A schedule over steps: subclasses give ``get_lr()``, the lrs at step ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        super().__init__(optimizer)
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        elif not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{type(self).__name__}: last_epoch must be an int >= -1, "
                             f"got {last_epoch!r}")
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{type(self).__name__}: resuming at last_epoch={last_epoch} needs "
                        f"'initial_lr' in param group {i}; load the optimizer's state_dict first"
                    )
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch + 1
        self._set_lrs(self._initial_lrs())

    def _initial_lrs(self) -> list[float]:
        """The lrs set by the constructor's step: the current ones (a resumed run keeps its lrs)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The lrs for step ``last_epoch`` (chainable schedules derive them from the current
        lrs)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (call after ``optimizer.step()``) and set the groups' lrs."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())
