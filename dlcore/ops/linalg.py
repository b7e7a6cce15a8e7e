"""Matrix products: ``matmul`` (batched, broadcasting, PyTorch's 1-D rules) and ``linear``."""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..tensor import Tensor, operand, unbroadcast


def _mm(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """``op(a) @ op(b)`` for 2-D arrays on our GEMM kernel, so that ``set_num_threads`` governs it
    (NumPy's ``@`` runs on OpenBLAS's own thread pool); mixed or non-float dtypes go to NumPy,
    which promotes them."""
    if a.dtype == b.dtype and a.dtype.kind == "f":
        return kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


def _bmm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x @ y`` for (…, m, k) @ (…, k, n), batch dims broadcast. float32 products run on the
    GEMM kernel one matrix at a time: it reads strided and transposed matrices (attention's
    heads) in place, where NumPy's stacked matmul of such views falls back to a loop without
    BLAS, hundreds of times slower."""
    if not x.dtype == y.dtype == np.float32:
        return x @ y
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    xs, ys = np.broadcast_to(x, batch + x.shape[-2:]), np.broadcast_to(y, batch + y.shape[-2:])
    out = np.empty(batch + (x.shape[-2], y.shape[-1]), dtype=np.float32)
    for index in np.ndindex(*batch):
        kernels.gemm(xs[index], ys[index], c=out[index])
    return out


def matmul(a: Tensor, b) -> Tensor:
    """``a @ b``: (…, m, k) @ (…, k, n) -> (…, m, n), batch dims broadcast; a 1-D operand is a
    row (left) or column (right) vector whose dim is dropped from the result."""
    b = operand(b, a)
    x, y = a.data, b.data
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not multiply")
    if x.ndim == 2 and y.ndim == 2:
        return _matmul_2d(a, b)

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
            ga = unbroadcast(_bmm(g, np.swapaxes(y2, -1, -2)), x2.shape).reshape(x.shape)
        if b.requires_grad:
            gb = unbroadcast(_bmm(np.swapaxes(x2, -1, -2), g), y2.shape).reshape(y.shape)
        return ga, gb
    if x.ndim == 1 or y.ndim == 1:  # vector products: NumPy's rules drop the dim
        return Tensor._make(x @ y, (a, b), backward)
    return Tensor._make(_bmm(x, y), (a, b), backward)


def _matmul_2d(a: Tensor, b: Tensor) -> Tensor:
    """(m, k) @ (k, n): every product on the GEMM kernel, transposes read in place."""
    x, y = a.data, b.data

    def backward(g):
        return (_mm(g, y, trans_b=True) if a.requires_grad else None,
                _mm(x, g, trans_a=True) if b.requires_grad else None)
    return Tensor._make(_mm(x, y), (a, b), backward)


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
    x2 = x.data.reshape(-1, x.shape[-1])
    out = _mm(x2, weight.data, trans_b=True)
    if bias is not None:
        out += bias.data

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])
        grads = (_mm(g2, weight.data).reshape(x.shape) if x.requires_grad else None,
                 _mm(g2, x2, trans_a=True) if weight.requires_grad else None)
        if bias is None:
            return grads
        return grads + (g2.sum(axis=0) if bias.requires_grad else None,)
    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(out.reshape(x.shape[:-1] + (weight.shape[0],)), parents, backward)
