"""PyTorch's optimizers as thin constructors over the one general update (see ``update.py``).

Each class only names PyTorch's options, with PyTorch's defaults, and says in ``_rule`` which
stages of the general update they switch on. The algorithms are PyTorch's documented ones
(the notes name them without formulas; FEATURES §5 [STD]).
"""
from __future__ import annotations

from collections.abc import Iterable

from dlcore import checks
from dlcore.optim.optimizer import Optimizer
from dlcore.optim.update import UpdateRule


class SGD(Optimizer):
    """``v ← μv + (1−τ)g`` (``v = g`` at first), ``θ ← θ − ηv``; Nesterov: ``θ ← θ − η(g + μv)``.

    Weight decay λ adds λθ to g, so without momentum ``θ ← (1 − ηλ)θ − ηg``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _rule(self, group: dict) -> UpdateRule:
        momentum, dampening = self._option(group, "momentum"), self._option(group, "dampening")
        if group["nesterov"] and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        return UpdateRule(lr=self._option(group, "lr"),
                          weight_decay=self._option(group, "weight_decay"),
                          maximize=bool(group["maximize"]), momentum=momentum, dampening=dampening,
                          nesterov=bool(group["nesterov"]))


class Adam(Optimizer):
    """``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``θ ← θ − η m̂/(√v̂ + ε)`` (bias-corrected
    ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``; AMSGrad uses the running max of v)."""

    decoupled_weight_decay = False

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _rule(self, group: dict) -> UpdateRule:
        if len(group["betas"]) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (β₁, β₂), "
                             f"got {group['betas']!r}")
        beta1, beta2 = (checks.in_range(self, f"betas[{i}]", beta, 0.0, 1.0, high_open=True)
                        for i, beta in enumerate(group["betas"]))
        return UpdateRule(lr=self._option(group, "lr"),
                          weight_decay=self._option(group, "weight_decay"),
                          decoupled_weight_decay=self.decoupled_weight_decay,
                          maximize=bool(group["maximize"]), beta1=beta1, square_decay=beta2,
                          square_weight=1.0 - beta2, bias_correction=True,
                          amsgrad=bool(group["amsgrad"]), eps=self._option(group, "eps"))


class AdamW(Adam):
    """Adam with decoupled weight decay: ``θ ← (1 − ηλ)θ`` before the Adam step (λ = 1e-2)."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """``s ← αs + (1−α)g²``, ``θ ← θ − η g/(√s + ε)``; centred: ``√(s − ḡ²)``; momentum: ``b ← μb +
    g/(√s + ε)``, ``θ ← θ − ηb`` (ε outside the root, as PyTorch; d2l writes ``√(s + ε)``)."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _rule(self, group: dict) -> UpdateRule:
        alpha = self._option(group, "alpha", high=1.0)
        return UpdateRule(lr=self._option(group, "lr"),
                          weight_decay=self._option(group, "weight_decay"),
                          maximize=bool(group["maximize"]), square_decay=alpha,
                          square_weight=1.0 - alpha, centered=bool(group["centered"]),
                          eps=self._option(group, "eps"), momentum=self._option(group, "momentum"))


class Adagrad(Optimizer):
    """``s ← s + g²`` (``s₀`` = initial_accumulator_value), ``θ ← θ − η_t g/(√s + ε)`` with
    ``η_t = η/(1 + (t−1)·lr_decay)``."""

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _rule(self, group: dict) -> UpdateRule:
        return UpdateRule(lr=self._option(group, "lr"),
                          weight_decay=self._option(group, "weight_decay"),
                          maximize=bool(group["maximize"]),
                          lr_decay=self._option(group, "lr_decay"),
                          square_decay=1.0, square_weight=1.0,
                          square_init=self._option(group, "initial_accumulator_value"),
                          eps=self._option(group, "eps"))


class Adadelta(Optimizer):
    """``s ← ρs + (1−ρ)g²``, ``Δ = g·√(u+ε)/√(s+ε)``, ``u ← ρu + (1−ρ)Δ²``, ``θ ← θ − ηΔ``."""

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _rule(self, group: dict) -> UpdateRule:
        rho = self._option(group, "rho", high=1.0)
        return UpdateRule(lr=self._option(group, "lr"),
                          weight_decay=self._option(group, "weight_decay"),
                          maximize=bool(group["maximize"]), square_decay=rho,
                          square_weight=1.0 - rho, unit_correction=True,
                          eps=self._option(group, "eps"))
