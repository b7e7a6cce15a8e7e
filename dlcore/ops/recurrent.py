"""A recurrent layer's pass over a whole sequence as one op: Elman RNN, LSTM or GRU.

Composed of per-step tensor ops, backprop through time cost O(T²): every step's slice of the
sequence sent back a gradient as large as the whole sequence. Here the forward loop keeps
what backward needs in arrays of the sequence's size, and backward walks the steps once in
reverse: per step one GEMM (``dgates W_hh``) and one fused pointwise kernel, then ``W_hh``'s
gradient for all steps in a single GEMM. Cost and memory are linear in the length.

The input projection ``x W_ihᵀ + b_ih`` of all steps is the caller's one ``linear``; this op
adds ``h W_hhᵀ + b_hh`` step by step.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..tensor import Tensor

#: gate blocks per kind; the state is (h,) except for the LSTM's (h, c)
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def recurrence(kind: str, gates_x: Tensor, state: tuple[Tensor, ...], weight_hh: Tensor,
               bias_hh: Tensor | None = None, reverse: bool = False):
    """Run ``kind`` ("rnn_tanh", "rnn_relu", "lstm", "gru") over a sequence.

    gates_x (L, N, G·H): ``x W_ihᵀ + b_ih`` for every step; state: (h_0,) or (h_0, c_0), each
    (N, H); weight_hh (G·H, H), bias_hh (G·H,) or None; ``reverse`` runs from step L-1 to 0.
    Returns ``(output, final_state)``: output (L, N, H) in time order, final_state like state.
    """
    gates = GATES[kind]
    length, n, width = gates_x.shape
    hidden = weight_hh.shape[1]
    if width != gates * hidden or weight_hh.shape[0] != width or length < 1 or \
            any(s.shape != (n, hidden) for s in state) or len(state) != 1 + (kind == "lstm"):
        raise ValueError(f"recurrence({kind!r}): gates_x {gates_x.shape}, weight_hh "
                         f"{weight_hh.shape} and state {[s.shape for s in state]} do not fit")
    dtype = gates_x.dtype
    gx = np.ascontiguousarray(gates_x.data)
    gx = gx[::-1] if reverse else gx          # processing order; each gx[k] stays contiguous
    w = weight_hh.data.astype(dtype, copy=False)
    # W_hhᵀ laid out once: the GEMM reads a row-major B in place, a transposed one it repacks
    # at every step (a quarter of a step's time at batch 32, 2 threads)
    wt = np.ascontiguousarray(w.T)
    b = None if bias_hh is None else bias_hh.data.astype(dtype, copy=False)
    lstm, gru = kind == "lstm", kind == "gru"
    # hs[k]: the hidden state before step k; for the LSTM hs[length + 1] holds c_n, so that
    # one array, hs[1:], carries every output of the op (see `packed` below)
    hs = np.empty((length + 1 + lstm, n, hidden), dtype)
    hs[0] = state[0].data
    if gru:
        gh = np.empty_like(gx)                 # h W_hhᵀ + b_hh per step, kept for backward
        acts = np.empty_like(gx)               # [r|z|n] per step
        for k in range(length):
            if b is not None:
                gh[k] = b
            kernels.gemm(hs[k], wt, gh[k], beta=1.0 if b is not None else 0.0)
            kernels.gru_cell_forward(gx[k], gh[k], hs[k], acts[k], hs[k + 1])
    else:
        # the pre-activations gx + b_hh + h W_hhᵀ; the LSTM kernel replaces them by the gates
        acts = np.add(gx, b, order="C") if b is not None else np.array(gx, order="C")
        cs = None
        if lstm:
            cs = np.empty((length + 1, n, hidden), dtype)
            cs[0] = state[1].data
        for k in range(length):
            kernels.gemm(hs[k], wt, acts[k], beta=1.0)
            if lstm:
                kernels.lstm_cell_forward(acts[k], cs[k], cs[k + 1], hs[k + 1])
            elif kind == "rnn_tanh":
                np.tanh(acts[k], out=hs[k + 1])
            else:
                np.maximum(acts[k], 0, out=hs[k + 1])
        if lstm:
            hs[length + 1] = cs[length]

    def backward(g):
        """g: the gradient of ``packed`` (processing order, then c_n for the LSTM)."""
        dh = np.zeros((n, hidden), dtype)
        dc = np.array(g[length]) if lstm else None
        dgx = np.empty((length, n, width), dtype)
        dgh = np.empty_like(dgx) if gru else dgx   # the same for RNN and LSTM
        spare = np.empty_like(dh) if gru else None
        for k in reversed(range(length)):
            dh += g[k]
            if lstm:
                kernels.lstm_cell_backward(acts[k], cs[k], cs[k + 1], dh, dc, dgx[k])
            elif gru:
                kernels.gru_cell_backward(acts[k], gh[k], hs[k], dh, dgx[k], dgh[k], spare)
            elif kind == "rnn_tanh":
                np.multiply(dh, 1 - hs[k + 1] * hs[k + 1], out=dgx[k])
            else:
                np.multiply(dh, hs[k + 1] > 0, out=dgx[k])
            if gru:  # dh_prev = dh·z + dgh W_hh
                kernels.gemm(dgh[k], w, spare, beta=1.0)
                dh, spare = spare, dh
            else:
                kernels.gemm(dgh[k], w, dh)
        flat = dgh.reshape(length * n, width)
        grads = [dgx[::-1] if reverse else dgx, dh] + ([dc] if lstm else [])
        if weight_hh.requires_grad:
            grads.append(kernels.gemm(flat, hs[:length].reshape(length * n, hidden),
                                      trans_a=True))
        else:
            grads.append(None)
        if bias_hh is not None:
            grads.append(flat.sum(axis=0) if bias_hh.requires_grad else None)
        return tuple(grads)

    parents = (gates_x, *state, weight_hh) + (() if bias_hh is None else (bias_hh,))
    packed = Tensor._make(hs[1:], parents, backward)
    outputs = packed[:length] if lstm else packed
    final = (packed[length - 1],) + ((packed[length],) if lstm else ())
    return (outputs[::-1] if reverse else outputs), final
