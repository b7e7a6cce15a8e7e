"""Reduce the lr when a watched metric stops improving (driven by metrics, not by steps)."""
from __future__ import annotations

from collections.abc import Sequence

from dlcore import checks
from dlcore.optim.lr_scheduler.base import Scheduler
from dlcore.optim.optimizer import Optimizer


class ReduceLROnPlateau(Scheduler):
    """Multiply every group's lr by ``factor`` (not below its ``min_lr``) once the metric has not
    improved for more than ``patience`` calls of ``step(metric)``, then wait ``cooldown`` calls.

    "Improved" (PyTorch's rule): below ``best·(1 − threshold)`` (``'rel'``) or ``best − threshold``
    (``'abs'``) in ``'min'`` mode; above ``best·(1 + threshold)`` or ``best + threshold`` in
    ``'max'`` mode. Reductions smaller than ``eps`` are skipped. ``best`` is None until the
    first metric, which keeps the state strict JSON.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0,
                 eps: float = 1e-8) -> None:
        super().__init__(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        groups = optimizer.param_groups
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(min_lrs) != len(groups):
            raise ValueError(f"ReduceLROnPlateau: min_lr has {len(min_lrs)} values for "
                             f"{len(groups)} param groups")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = checks.in_range(self, "factor", factor, 0.0, 1.0, high_open=True)
        self.patience = self._count("patience", patience)
        self.cooldown = self._count("cooldown", cooldown)
        self.threshold = checks.in_range(self, "threshold", threshold)
        self.eps = checks.in_range(self, "eps", eps)
        self.min_lrs = [checks.in_range(self, "min_lr", v) for v in min_lrs]
        self.last_epoch = 0
        self.best: float | None = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _count(self, name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"ReduceLROnPlateau: {name} must be a non-negative int, got {value!r}")
        return value

    def _is_better(self, metric: float) -> bool:
        if self.best is None:
            return True
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return metric < (self.best * (1 - self.threshold) if rel
                             else self.best - self.threshold)
        return metric > (self.best * (1 + self.threshold) if rel else self.best + self.threshold)

    def step(self, metrics: float) -> None:
        """Record one value of the watched metric (e.g. the validation loss) and act on it."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step expects a number, got {metrics!r}") from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lrs()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lrs(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            new_lr = max(group["lr"] * self.factor, min_lr)
            if group["lr"] - new_lr > self.eps:
                group["lr"] = new_lr
