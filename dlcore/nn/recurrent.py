"""Recurrent layers: Elman RNN, LSTM and GRU, as one-step cells and as stacked, optionally
bidirectional sequence modules.

Weights use PyTorch's names and layouts: ``weight_ih_l{k}{_reverse}`` is
``(gates * hidden_size, layer_input_size)``, ``weight_hh_l{k}{_reverse}`` is
``(gates * hidden_size, hidden_size)``, with two biases ``bias_ih``/``bias_hh`` (redundant, kept
for state_dict parity) and gate order i, f, g, o (LSTM) and r, z, n (GRU). The input projection
``x W_ihᵀ + b_ih`` is one matmul over the whole sequence; the rest, ``h W_hhᵀ + b_hh`` and the
gates step by step, is one op (:func:`dlcore.ops.recurrent.recurrence`) whose backward walks the
sequence once, so a step costs the same whatever the length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

import dlcore
from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore import checks
from dlcore.nn.module import Module
from dlcore.nn.parameter import Parameter
from dlcore.ops.recurrent import recurrence as recurrence_op
from dlcore.tensor import Tensor

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM; each (N, hidden_size)


@dataclass(frozen=True)
class _Recurrence:
    """What distinguishes RNN, LSTM and GRU: the kind the sequence op runs, its gate count
    and state size."""
    kind: str
    num_gates: int
    num_states: int


_ELMAN = {"tanh": _Recurrence("rnn_tanh", 1, 1), "relu": _Recurrence("rnn_relu", 1, 1)}
_LSTM = _Recurrence("lstm", 4, 2)
_GRU = _Recurrence("gru", 3, 1)


def _elman_recurrence(nonlinearity: str) -> _Recurrence:
    if nonlinearity not in _ELMAN:
        raise ValueError(f"RNN nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _ELMAN[nonlinearity]


def _uniform_parameter(shape: tuple[int, ...], bound: float) -> Parameter:
    """PyTorch's recurrent init: every weight and bias ~ U(-1/√hidden, 1/√hidden)."""
    return init.uniform_(Parameter(np.empty(shape, dtype=np.float32)), -bound, bound)


def _add_projections(module: Module, suffix: str, recurrence: _Recurrence, input_size: int,
                     hidden_size: int, bias: bool) -> None:
    """Registers weight_ih{suffix}, weight_hh{suffix} and (with bias) bias_ih/bias_hh{suffix}."""
    rows, bound = recurrence.num_gates * hidden_size, 1.0 / math.sqrt(hidden_size)
    module.register_parameter(f"weight_ih{suffix}", _uniform_parameter((rows, input_size), bound))
    module.register_parameter(f"weight_hh{suffix}", _uniform_parameter((rows, hidden_size), bound))
    for name in ("bias_ih", "bias_hh"):
        module.register_parameter(f"{name}{suffix}",
                                  _uniform_parameter((rows,), bound) if bias else None)


def _zeros_state(recurrence: _Recurrence, leading: tuple[int, ...], hidden_size: int,
                 like: Tensor) -> State:
    return tuple(Tensor(np.zeros(leading + (hidden_size,), dtype=like.dtype))
                 for _ in range(recurrence.num_states))


def _as_state(module: Module, hx) -> State:
    """The public initial state (h for RNN/GRU, (h, c) for LSTM) as a tuple."""
    if module._recurrence.num_states == 1:
        return (hx,)
    if not (isinstance(hx, tuple) and len(hx) == 2):
        raise TypeError(f"{module._describe()} expects hx as a tuple (h_0, c_0), "
                        f"got {type(hx).__name__}")
    return hx


def _from_state(recurrence: _Recurrence, state: State):
    return state if recurrence.num_states > 1 else state[0]


class _RecurrentCell(Module):
    """One time step. input: (N, input_size) or (input_size,); state tensors: (N, H) or (H,)."""

    def __init__(self, recurrence: _Recurrence, input_size: int, hidden_size: int, bias: bool):
        super().__init__()
        self._recurrence = recurrence
        self.input_size = checks.positive_int(type(self).__name__, "input_size", input_size)
        self.hidden_size = checks.positive_int(type(self).__name__, "hidden_size", hidden_size)
        self.bias = bias
        _add_projections(self, "", recurrence, input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx=None):
        recurrence, owner = self._recurrence, self._describe()
        self._check_input(input, self.weight_ih.dtype)
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{owner} expects input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(input.shape)}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            state = _zeros_state(recurrence, (x.shape[0],), self.hidden_size, x)
        else:
            state = _as_state(self, hx)
            expected = tuple(x.shape[:1] if batched else ()) + (self.hidden_size,)
            for s in state:
                if tuple(s.shape) != expected:
                    raise ValueError(f"{owner} expects hidden state of shape {expected} for input "
                                     f"of shape {tuple(input.shape)}, got {tuple(s.shape)}")
            state = state if batched else tuple(s.unsqueeze(0) for s in state)
        gates_x = F.linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)  # a sequence of one
        _, state = recurrence_op(recurrence.kind, gates_x, state, self.weight_hh, self.bias_hh)
        state = state if batched else tuple(s.squeeze(0) for s in state)
        return _from_state(recurrence, state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_RecurrentCell):
    """``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (or relu). forward(input, hx=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        super().__init__(_elman_recurrence(nonlinearity), input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity


class LSTMCell(_RecurrentCell):
    """Gates i, f, g, o; ``c' = f c + i g``, ``h' = o tanh(c')``.

    forward(input, hx=None | (h, c)) -> (h', c').
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(_LSTM, input_size, hidden_size, bias)


class GRUCell(_RecurrentCell):
    """Gates r, z, n; ``h' = (1 - z) n + z h``. forward(input, hx=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(_GRU, input_size, hidden_size, bias)


class _RecurrentLayers(Module):
    """A stack of ``num_layers`` recurrent layers, each run forwards (and backwards when
    ``bidirectional``); layer k > 0 reads layer k-1's output (both directions concatenated),
    with dropout between layers in training mode.

    input: (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched
    (L, input_size). Initial/final state tensors: (num_layers * D, N, H) (never batch-first),
    or (num_layers * D, H) unbatched, D = 2 if bidirectional else 1, ordered layer-major.
    output: (L, N, D * H) (or batch-first / unbatched to match the input).
    """

    def __init__(self, recurrence: _Recurrence, input_size: int, hidden_size: int,
                 num_layers: int, bias: bool, batch_first: bool, dropout: float,
                 bidirectional: bool):
        super().__init__()
        owner = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{owner} expects dropout in [0, 1], got {dropout!r}")
        self._recurrence = recurrence
        self.input_size = checks.positive_int(owner, "input_size", input_size)
        self.hidden_size = checks.positive_int(owner, "hidden_size", hidden_size)
        self.num_layers = checks.positive_int(owner, "num_layers", num_layers)
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.num_directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                _add_projections(self, self._suffix(layer, direction), recurrence, layer_input,
                                 hidden_size, bias)

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def forward(self, input: Tensor, hx=None):
        recurrence = self._recurrence
        x, batched = self._sequence_first(input)
        state = self._initial_state(hx, x, batched)
        finals: list[State] = []
        for layer in range(self.num_layers):
            if layer > 0:
                x = F.dropout(x, self.dropout, training=self.training)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                output, final = self._run(x, tuple(s[index] for s in state), layer, direction)
                outputs.append(output)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else dlcore.cat(outputs, dim=-1)
        final_state = tuple(dlcore.stack([f[k] for f in finals], dim=0)
                            for k in range(recurrence.num_states))
        if not batched:
            x = x.squeeze(1)
            final_state = tuple(s.squeeze(1) for s in final_state)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, _from_state(recurrence, final_state)

    def _run(self, x: Tensor, state: State, layer: int, direction: int) -> tuple[Tensor, State]:
        """One direction of one layer. x: (L, N, I) -> output (L, N, H) and the final state."""
        suffix = self._suffix(layer, direction)
        weight_hh, bias_hh = getattr(self, f"weight_hh{suffix}"), getattr(self, f"bias_hh{suffix}")
        weight_ih, bias_ih = getattr(self, f"weight_ih{suffix}"), getattr(self, f"bias_ih{suffix}")
        gates_x = F.linear(x, weight_ih, bias_ih)  # (L, N, gates * H): all steps in one matmul
        return recurrence_op(self._recurrence.kind, gates_x, state, weight_hh, bias_hh,
                             reverse=bool(direction))

    def _sequence_first(self, input: Tensor) -> tuple[Tensor, bool]:
        """input as (L, N, input_size), and whether it was batched."""
        name = self._describe()
        layout = "(N, L, {})" if self.batch_first else "(L, N, {})"
        self._check_input(input, self.weight_ih_l0.dtype)
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size or input.shape[-2] == 0:
            raise ValueError(f"{name} expects input of shape {layout.format(self.input_size)} or "
                             f"(L, {self.input_size}) with L >= 1, got {tuple(input.shape)}")
        if input.ndim == 2:
            return input.unsqueeze(1), False
        return (input.transpose(0, 1) if self.batch_first else input), True

    def _initial_state(self, hx, x: Tensor, batched: bool) -> State:
        """Initial state tensors as (num_layers * D, N, H); zeros when hx is None."""
        recurrence = self._recurrence
        layers = self.num_layers * self.num_directions
        if hx is None:
            return _zeros_state(recurrence, (layers, x.shape[1]), self.hidden_size, x)
        state = _as_state(self, hx)
        expected = (layers, x.shape[1], self.hidden_size) if batched else (layers, self.hidden_size)
        for s in state:
            if tuple(s.shape) != expected:
                raise ValueError(f"{self._describe()} expects initial state of shape {expected} "
                                 f"(num_layers * num_directions, N, hidden_size), "
                                 f"got {tuple(s.shape)}")
        return state if batched else tuple(s.unsqueeze(1) for s in state)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
                f"bidirectional={self.bidirectional}")


class RNN(_RecurrentLayers):
    """Elman RNN, ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`` (or relu).

    forward(input, hx=None) -> (output, h_n); shapes in :class:`_RecurrentLayers`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False):
        super().__init__(_elman_recurrence(nonlinearity), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity


class LSTM(_RecurrentLayers):
    """Long short-term memory, gates i, f, g, o: ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.

    forward(input, hx=None | (h_0, c_0)) -> (output, (h_n, c_n)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__(_LSTM, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional)


class GRU(_RecurrentLayers):
    """Gated recurrent unit, gates r, z, n: ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``,
    ``h_t = (1 - z) n + z h_{t-1}``. forward(input, hx=None) -> (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__(_GRU, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional)
