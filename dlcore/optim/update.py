"""The one general update: every optimizer in :mod:`dlcore.optim` is this step with other knobs.

PyTorch's documented algorithms (FEATURES §5 [STD]) decompose into stages, each skipped when
its knob is off; ``d`` is the direction the parameter finally moves along:

    g ← ∇ (or −∇ to maximize);  g ← g + λθ (L2)   or   θ ← (1 − ηλ)θ (decoupled, AdamW)
    first moment  (Adam)       m ← β₁m + (1−β₁)g;  d = m, η scaled by 1/(1−β₁ᵗ)
    second moment              s ← a·s + b·g²   (Adam, RMSprop, Adadelta: a = β, b = 1−β;
                                                  Adagrad: a = b = 1, s₀ = initial value)
      root-mean-square         d ← d / (√ŝ + ε),  ŝ = running max of s (AMSGrad),
                                                   s/(1−β₂ᵗ) (Adam), s − ḡ² (centred RMSprop)
      unit correction (Adadelta)  d ← g·√(u+ε)/√(s+ε);  u ← ρu + (1−ρ)d²
    momentum (SGD, RMSprop)    v ← μv + (1−τ)d  (v = d at the first step);  d ← d + μv or v
    θ ← θ − η_t·d,   η_t = η / (1 + (t−1)·lr_decay)  (Adagrad)

Every array is updated in place in the parameter's dtype, each blend ``y ← a·x + b·y`` in one
pass of the ``axpby`` kernel, with at most one scratch array per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels import axpby

STEP = "step"  # the only state entry that is a count; every other entry is an array like θ


@dataclass(frozen=True)
class UpdateRule:
    """The knobs of :func:`apply_update`; each optimizer maps its PyTorch options onto them."""

    lr: float
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    maximize: bool = False
    lr_decay: float = 0.0
    beta1: float | None = None
    square_decay: float | None = None
    square_weight: float = 1.0
    square_init: float = 0.0
    bias_correction: bool = False
    amsgrad: bool = False
    centered: bool = False
    unit_correction: bool = False
    eps: float = 0.0
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False


def apply_update(rule: UpdateRule, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
    """Move ``param`` one step in place; ``state`` (this parameter's arrays and step) is updated."""
    g = np.negative(grad) if rule.maximize else grad
    if rule.weight_decay and rule.decoupled_weight_decay:
        param *= 1.0 - rule.lr * rule.weight_decay
    elif rule.weight_decay:
        g = rule.weight_decay * param + g
    step = state[STEP] = state.get(STEP, 0) + 1
    step_size = rule.lr / (1.0 + (step - 1) * rule.lr_decay)
    work = np.empty_like(param) if rule.square_decay is not None else None
    direction = g
    if rule.beta1 is not None:
        direction = axpby(g, _state_array(state, "exp_avg", param), 1.0 - rule.beta1, rule.beta1)
        if rule.bias_correction:
            step_size /= 1.0 - rule.beta1**step
    if rule.unit_correction:
        direction = _unit_corrected(rule, state, g, work)
    elif rule.square_decay is not None:
        direction = np.divide(direction, _root_mean_square(rule, state, g, step, work), out=work)
    if rule.momentum:
        direction = _momentum(rule, state, direction)
    axpby(direction, param, -step_size, 1.0)


def _state_array(state: dict, name: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``state[name]``, created as an array like ``like`` filled with ``fill`` on first use."""
    if name not in state:
        state[name] = np.full_like(like, fill)
    return state[name]


def _square_average(rule: UpdateRule, state: dict, g: np.ndarray, work: np.ndarray) -> np.ndarray:
    """The second moment ``s ← a·s + b·g²``."""
    square_avg = _state_array(state, "square_avg", g, rule.square_init)
    return axpby(np.multiply(g, g, out=work), square_avg, rule.square_weight, rule.square_decay)


def _root_mean_square(rule: UpdateRule, state: dict, g: np.ndarray, step: int,
                      work: np.ndarray) -> np.ndarray:
    """The denominator ``√ŝ + ε`` (AMSGrad max, Adam bias correction, centring), into ``work``."""
    square_avg = _square_average(rule, state, g, work)
    if rule.amsgrad:
        peak = _state_array(state, "max_square_avg", g)
        square_avg = np.maximum(peak, square_avg, out=peak)
    if rule.centered:
        grad_avg = axpby(g, _state_array(state, "grad_avg", g), 1.0 - rule.square_decay,
                         rule.square_decay)
        np.subtract(square_avg, np.multiply(grad_avg, grad_avg, out=work), out=work)
        np.sqrt(work, out=work)
    else:
        np.sqrt(square_avg, out=work)
    if rule.bias_correction:
        work /= math.sqrt(1.0 - rule.square_decay**step)
    work += rule.eps
    return work


def _unit_corrected(rule: UpdateRule, state: dict, g: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Adadelta's step ``g·√(u+ε)/√(s+ε)``, and the running average ``u`` of its square."""
    square_avg = _square_average(rule, state, g, work)
    np.sqrt(np.add(square_avg, rule.eps, out=work), out=work)
    acc_delta = _state_array(state, "acc_delta", g)
    delta = acc_delta + rule.eps
    np.sqrt(delta, out=delta)
    delta /= work
    delta *= g
    axpby(np.multiply(delta, delta, out=work), acc_delta, rule.square_weight, rule.square_decay)
    return delta


def _momentum(rule: UpdateRule, state: dict, direction: np.ndarray) -> np.ndarray:
    """Heavy-ball momentum ``v ← μv + (1−τ)d``, seeded with ``d`` (PyTorch's SGD convention)."""
    buffer = state.get("momentum_buffer")
    if buffer is None:
        buffer = state["momentum_buffer"] = direction.copy()
    else:
        axpby(direction, buffer, 1.0 - rule.dampening, rule.momentum)
    return direction + rule.momentum * buffer if rule.nesterov else buffer
