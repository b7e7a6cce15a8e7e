"""Gradient clipping, in place on ``.grad`` of the given parameters."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dlcore.tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together by ``min(1, max_norm / ‖g‖)``, ‖g‖ the ``norm_type`` norm of
    every gradient concatenated (``inf`` for the max-abs norm). Returns ‖g‖ before clipping,
    as a 0-d tensor."""
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_ expects max_norm > 0, got {max_norm!r}")
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_ expects norm_type > 0 (or inf), got {norm_type!r}")
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.float32(0.0))
    if norm_type == np.inf:
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
        total **= 1.0 / norm_type
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    if total > max_norm:  # within max_norm the gradients stay exactly as they are
        scale = max_norm / (total + 1e-6)  # PyTorch's epsilon
        for g in grads:
            g *= scale
    return Tensor(np.float32(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into ``[−clip_value, clip_value]``."""
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_ expects clip_value > 0, got {clip_value!r}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


def parameter_summary(model) -> list[dict]:
    """One row per module that holds parameters of its own: ``name`` (its path in the model),
    ``layer`` (its class), ``shapes`` ({parameter: shape}) and ``parameters`` (their count);
    the rows sum to the model's parameter count. For ``dl models NAME --summary``."""
    rows = []
    for name, module in model.named_modules():
        own = {key: tuple(p.shape) for key, p in module._parameters.items() if p is not None}
        if own:
            rows.append({"name": name, "layer": type(module).__name__, "shapes": own,
                         "parameters": sum(int(np.prod(shape)) for shape in own.values())})
    return rows
