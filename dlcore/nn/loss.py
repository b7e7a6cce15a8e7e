"""Loss modules: each applies the loss of the same name in dlcore.nn.functional to
``(input, target)``. Options are keyword-only: PyTorch's positional slots hold deprecated
arguments, so a positional value would silently mean something else."""
from __future__ import annotations

import numpy as np

from dlcore import checks
from dlcore.nn import functional as F
from dlcore.nn.module import Module
from dlcore.tensor import Tensor


class _Loss(Module):
    _reductions = ("mean", "sum", "none")

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        if reduction not in self._reductions:
            raise ValueError(f"{type(self).__name__} expects reduction in {self._reductions}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _ClassIdLoss(_Loss):
    """Classification losses whose target holds class ids, some of which may be ignored."""

    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.ignore_index = ignore_index


class CrossEntropyLoss(_ClassIdLoss):
    """Softmax cross-entropy from logits (N, C) or (N, C, d1, …); target class ids (N, d1, …)
    or class probabilities shaped like the logits. ``label_smoothing`` ε mixes the target with
    the uniform distribution."""

    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(ignore_index=ignore_index, reduction=reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss expects label_smoothing in [0, 1], "
                             f"got {label_smoothing!r}")
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return F.cross_entropy(input, target, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_ClassIdLoss):
    """``−input[i, target[i]]`` for log-probabilities (N, C) (e.g. from LogSoftmax)."""

    def forward(self, input: Tensor, target) -> Tensor:
        return F.nll_loss(input, target, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """``(input − target)²``, averaged over all elements by default."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """``|input − target|``, averaged over all elements by default."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


def _constant(value) -> Tensor | None:
    """A loss's fixed ``weight``/``pos_weight`` as a Tensor for a buffer (lists become float32)."""
    if value is None or isinstance(value, (Tensor, np.ndarray)):
        return value
    return Tensor(np.asarray(value, dtype=np.float32))


class BCELoss(_Loss):
    """Binary cross-entropy ``−w (y log p + (1 − y) log(1 − p))`` for probabilities p.
    ``weight`` w (broadcast to the input) is a buffer, as in PyTorch: it follows ``to()`` and
    the state_dict but is never trained. Positional, as PyTorch's first argument is."""

    def __init__(self, weight=None, *, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.register_buffer("weight", _constant(weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """BCELoss on ``sigmoid(input)``, computed stably from the logits; ``pos_weight`` (one per
    class along the last dimension, say) multiplies the loss of the positive targets. Both
    ``weight`` and ``pos_weight`` are buffers."""

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction=reduction)
        self.register_buffer("weight", _constant(weight))
        self.register_buffer("pos_weight", _constant(pos_weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of the target under N(input, var), for a network that
    predicts a variance alongside its mean: ``forward(input, target, var)``; ``full`` adds the
    constant ½ log 2π, ``eps`` is the floor the variance is clamped at."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.full = full
        self.eps = checks.in_range(type(self).__name__, "eps", eps, 0.0)

    def forward(self, input: Tensor, target: Tensor, var) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)

    def extra_repr(self) -> str:
        return f"full={self.full}, eps={self.eps:g}, {super().extra_repr()}"


class KLDivLoss(_Loss):
    """``target (log target − input)`` for log-probabilities ``input`` (target as
    probabilities, or log-probabilities with ``log_target``); ``reduction="batchmean"`` gives
    the true KL divergence per example."""

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, *, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction=reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, self.reduction, self.log_target)
