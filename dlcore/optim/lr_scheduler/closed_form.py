"""Schedules computed directly from the step count ``last_epoch`` (not from the current lr)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from dlcore import checks
from dlcore.optim.lr_scheduler.base import LRScheduler
from dlcore.optim.optimizer import Optimizer


class _ClosedFormLR(LRScheduler):
    """The constructor's step uses the formula too (step 0 of the schedule)."""

    def _initial_lrs(self) -> list[float]:
        return self.get_lr()


class LambdaLR(_ClosedFormLR):
    """``lr = initial_lr · λ(t)``, one ``lr_lambda`` for all groups or one per group.

    The lambdas are code, not state: ``state_dict`` leaves them out, so a resumed scheduler
    must be constructed with the same lambdas before ``load_state_dict``.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        lambdas = (list(lr_lambda) if isinstance(lr_lambda, (list, tuple))
                   else [lr_lambda] * len(groups))
        if len(lambdas) != len(groups) or not all(callable(f) for f in lambdas):
            raise ValueError(f"LambdaLR expects one callable or {len(groups)} callables "
                             f"(one per param group), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class NoamLR(_ClosedFormLR):
    """The Transformer's inverse-square-root warm-up (FEATURES §5 [STD]), for every group:
    ``lr = scale · d_model^(−1/2) · min(t^(−1/2), t · warmup_steps^(−3/2))`` with t = step + 1,
    i.e. linear growth for ``warmup_steps`` steps, then decay as 1/√t. The optimizer's own lr
    is overridden (fold a base lr into ``scale``)."""

    def __init__(self, optimizer: Optimizer, d_model: int, warmup_steps: int, scale: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.d_model = checks.positive_int(self, "d_model", d_model)
        self.warmup_steps = checks.positive_int(self, "warmup_steps", warmup_steps)
        self.scale = checks.in_range(self, "scale", scale, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch + 1
        lr = self.scale * self.d_model**-0.5 * min(t**-0.5, t * self.warmup_steps**-1.5)
        return [lr] * len(self.optimizer.param_groups)


class OneCycleLR(_ClosedFormLR):
    """Smith's 1cycle policy: the lr rises from ``max_lr/div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then anneals to ``initial_lr/final_div_factor`` (with
    ``three_phase``, it first comes back down to the initial lr symmetrically). Momentum (or
    Adam's β₁) cycles the opposite way between ``max_momentum`` and ``base_momentum``.
    Stepping past ``total_steps`` is an error."""

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR expects a dlcore.optim Optimizer, "
                            f"got {type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = checks.positive_int(self, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (checks.positive_int(self, "epochs", epochs)
                                * checks.positive_int(self, "steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")
        self.pct_start = checks.in_range(self, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.three_phase = bool(three_phase)
        self.cycle_momentum = bool(cycle_momentum)
        groups = optimizer.param_groups
        has_momentum = "momentum" in optimizer.defaults or "betas" in optimizer.defaults
        if self.cycle_momentum and not has_momentum:
            raise ValueError(f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum "
                             f"or betas, {type(optimizer).__name__} has neither")
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch == -1:
            div = checks.in_range(self, "div_factor", div_factor, low_open=True)
            final_div = checks.in_range(self, "final_div_factor", final_div_factor, low_open=True)
            for group, peak in zip(groups, self._per_group("max_lr", max_lr, groups)):
                group.update(initial_lr=peak / div, max_lr=peak, min_lr=peak / div / final_div)
            if self.cycle_momentum:
                highs = self._per_group("max_momentum", max_momentum, groups)
                lows = self._per_group("base_momentum", base_momentum, groups)
                for group, high, low in zip(groups, highs, lows):
                    group.update(max_momentum=high, base_momentum=low)
                    self._set_momentum(group, high)
        super().__init__(optimizer, last_epoch)

    def _per_group(self, name: str, value: float | Sequence[float],
                   groups: list[dict]) -> list[float]:
        values = list(value) if isinstance(value, (list, tuple)) else [value] * len(groups)
        if len(values) != len(groups):
            raise ValueError(f"OneCycleLR: {name} has {len(values)} values for "
                             f"{len(groups)} param groups")
        return [checks.in_range(self, name, v) for v in values]

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _phases(self) -> list[tuple[float, str, str, str, str]]:
        """(end step, lr from, lr to, momentum from, momentum to), as PyTorch lays them out."""
        warmup_end = self.pct_start * self.total_steps - 1
        last = self.total_steps - 1
        if self.three_phase:
            mirror_end = 2 * self.pct_start * self.total_steps - 2
            return [(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                    (mirror_end, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                    (last, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        return [(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (last, "max_lr", "min_lr", "base_momentum", "max_momentum")]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times, but total_steps is "
                             f"{self.total_steps}")
        phases = self._phases()
        start = 0.0
        for i, (end, lr_from, lr_to, momentum_from, momentum_to) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                break
            start = end
        pct = (t - start) / (end - start) if end > start else 1.0
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                momentum = self._anneal(group[momentum_from], group[momentum_to], pct)
                self._set_momentum(group, momentum)
        return lrs
