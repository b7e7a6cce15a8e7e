"""Gradient checking: autograd's gradients against central finite differences, in float64."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import kernels
from .tensor import Tensor, no_grad


def gradcheck(fn: Callable[..., Tensor], *inputs, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, seed: int = 0) -> bool:
    """Check ``fn``'s gradient with respect to every input that requires grad.

    The inputs to check must be float64 (float32 differences are too coarse). ``fn`` may return
    a tensor of any shape: both sides are contracted with one fixed random cotangent, so the
    whole Jacobian is exercised. Kernels run on the NumPy reference (the C kernels are float32).
    Raises ``AssertionError`` naming the input and element that disagree; returns True.
    """
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {t.dtype} of shape {t.shape}")
    with kernels.use_backend("numpy"):
        out = fn(*inputs)
        cotangent = np.random.default_rng(seed).standard_normal(out.shape)
        for t in checked:
            t.grad = None
        out.backward(cotangent)
        for position, t in enumerate(checked):
            analytic = np.zeros(t.shape) if t.grad is None else t.grad
            numeric = _numeric_gradient(fn, inputs, t, cotangent, eps)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), t.shape)
                raise AssertionError(
                    f"gradcheck: input {position} of shape {t.shape}, element {worst}: "
                    f"autograd {analytic[worst]!r}, finite differences {numeric[worst]!r}")
    return True


def _numeric_gradient(fn, inputs, t: Tensor, cotangent: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros(t.shape)
    t.data = np.ascontiguousarray(t.data)
    flat = t.data.reshape(-1)  # a view: nudging it nudges the input
    with no_grad():
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = float((fn(*inputs).data * cotangent).sum())
            flat[i] = saved - eps
            minus = float((fn(*inputs).data * cotangent).sum())
            flat[i] = saved
            grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad
