"""Sinusoidal positional encoding: attention is order-blind, so the position is added to the input.

Corrected formula (FEATURES §10 row 28): each sine/cosine pair shares one frequency,
``PE(pos, 2i) = sin(pos / 10000^(2i/d))`` and ``PE(pos, 2i+1) = cos(pos / 10000^(2i/d))``.
"""
from __future__ import annotations

import numpy as np

from dlcore.nn.dropout import Dropout
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.tensor import Tensor


def sinusoidal_encoding(positions, d_model: int) -> np.ndarray:
    """The encoding of each position (integer or fractional, e.g. a diffusion noise level).

    positions: (P,) -> (P, d_model), float32. Column 2i is the sine and column 2i+1 the cosine
    of ``pos / 10000^(2i/d_model)``; an odd ``d_model`` ends on a sine.
    """
    checks.positive_int("sinusoidal_encoding", "d_model", d_model)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 1:
        raise ValueError(f"sinusoidal_encoding expects positions of shape (P,), "
                         f"got {positions.shape}")
    even_dims = np.arange(0, d_model, 2, dtype=np.float64)
    angles = positions[:, None] / 10000.0 ** (even_dims / d_model)
    encoding = np.empty((positions.shape[0], d_model), dtype=np.float64)
    encoding[:, 0::2] = np.sin(angles)
    encoding[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return encoding.astype(np.float32)


class PositionalEncoding(Module):
    """Adds the sinusoidal encoding of each position to a sequence, then applies dropout.

    x: (L, N, d_model), or (N, L, d_model) with ``batch_first=True``, or unbatched (L, d_model).
    The table for ``max_len`` positions is computed once and kept as a non-persistent buffer:
    it is a function of the hyper-parameters, not learned state, so checkpoints do not carry it.
    """

    def __init__(self, d_model: int, dropout: float = 0.0, max_len: int = 5000,
                 batch_first: bool = False):
        super().__init__()
        self.d_model = checks.positive_int("PositionalEncoding", "d_model", d_model)
        self.max_len = checks.positive_int("PositionalEncoding", "max_len", max_len)
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", Tensor(sinusoidal_encoding(np.arange(max_len), d_model)),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise ValueError(f"{self._describe()} expects input of shape (L, N, {self.d_model}) "
                             f"or (L, {self.d_model}), got {tuple(x.shape)}")
        seq_axis = 1 if self.batch_first and x.ndim == 3 else 0
        length = x.shape[seq_axis]
        if length > self.max_len:
            raise ValueError(f"{self._describe()} got a sequence of length {length}, "
                             f"longer than max_len={self.max_len}")
        encoding = self.pe.data[:length]
        if x.ndim == 3 and seq_axis == 0:
            encoding = encoding[:, None, :]
        return self.dropout(x + encoding.astype(x.dtype, copy=False))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"
