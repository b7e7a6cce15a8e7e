"""Chainable decay schedules: each step rescales the groups' current lrs, as PyTorch does, so
schedules compose and follow manual lr changes. Their closed forms (FEATURES §5 [STD]), with
η₀ the initial lr and t = ``last_epoch``:

    StepLR          η₀·γ^⌊t/s⌋              MultiStepLR   η₀·γ^(milestones ≤ t)
    ExponentialLR   η₀·γᵗ                   LinearLR      η₀·(f₀ + (f₁−f₀)·min(t, T)/T)
    CosineAnnealingLR  η_min + (η₀ − η_min)(1 + cos(πt/T))/2
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from dlcore import checks
from dlcore.optim.lr_scheduler.base import LRScheduler
from dlcore.optim.optimizer import Optimizer


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = checks.positive_int(self, "step_size", step_size)
        self.gamma = checks.in_range(self, "gamma", gamma, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma if self.last_epoch % self.step_size == 0 else 1.0
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone (by γⁿ at a milestone listed n times)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = sorted(checks.positive_int(self, "milestones[i]", m) for m in milestones)
        self.gamma = checks.in_range(self, "gamma", gamma, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** self.milestones.count(self.last_epoch)
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = checks.in_range(self, "gamma", gamma, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine from the initial lr down to ``eta_min`` over ``T_max`` steps, then back up (SGDR
    without restarts): the ratio of consecutive closed-form values, applied to the current lr."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = checks.positive_int(self, "T_max", T_max)
        self.eta_min = checks.in_range(self, "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period = self.last_epoch, self.T_max
        if (t - 1 - period) % (2 * period) == 0:
            # Leaving the minimum, where the ratio below would divide by 1 + cos(π) = 0.
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min
                for group in self.optimizer.param_groups]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps
    (warm-up when start < end): each step multiplies by the ratio of consecutive factors."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = checks.in_range(self, "start_factor", start_factor, 0.0, 1.0,
                                            low_open=True)
        self.end_factor = checks.in_range(self, "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = checks.positive_int(self, "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def _initial_lrs(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        return super()._initial_lrs()

    def get_lr(self) -> list[float]:
        if self.last_epoch > self.total_iters:
            return [group["lr"] for group in self.optimizer.param_groups]
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]
