"""Matrix products: ``matmul`` (batched, broadcasting, PyTorch's 1-D rules) and ``linear``."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, operand, unbroadcast


def matmul(a: Tensor, b) -> Tensor:
    """``a @ b``: (…, m, k) @ (…, k, n) -> (…, m, n), batch dims broadcast; a 1-D operand is a
    row (left) or column (right) vector whose dim is dropped from the result."""
    b = operand(b, a)
    x, y = a.data, b.data
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not multiply")

    def backward(g):
        # redo the product on 2-D-or-more operands, as NumPy does internally
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        if y.ndim == 1:
            g = g[..., None]
        if x.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        if b.requires_grad:
            gb = unbroadcast(np.swapaxes(x2, -1, -2) @ g, y2.shape).reshape(y.shape)
        return ga, gb
    return Tensor._make(x @ y, (a, b), backward)


def rmatmul(a: Tensor, b) -> Tensor:
    return matmul(operand(b, a), a)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op: x (…, in), weight (out, in), bias (out,) -> (…, out)."""
    if x.dtype.kind != "f":
        raise TypeError(f"linear expects a floating-point input, got dtype {x.dtype} "
                        "(cast with .float())")
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (out_features, in_features)")
    out = x.data @ weight.data.T
    if bias is not None:
        out += bias.data

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])
        grads = (g @ weight.data if x.requires_grad else None,
                 g2.T @ x.data.reshape(-1, x.shape[-1]) if weight.requires_grad else None)
        if bias is None:
            return grads
        return grads + (g2.sum(axis=0) if bias.requires_grad else None,)
    return Tensor._make(out, (x, weight) if bias is None else (x, weight, bias), backward)
