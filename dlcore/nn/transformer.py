"""Transformer encoder/decoder layers, their stacks and the encoder–decoder model (PyTorch's
``nn.Transformer*``: same arguments, submodule names and state_dict keys).

Each sub-block (self-attention, cross-attention, position-wise feed-forward) is wrapped in a
residual connection and a LayerNorm: after the residual sum by default (post-LN, the original
paper), or before the sub-block with ``norm_first=True`` (pre-LN, which trains more stably
deep stacks). Shapes: (L, N, E), or (N, L, E) with ``batch_first``; masks as in
:class:`~dlcore.nn.attention.MultiheadAttention`.
"""
from __future__ import annotations

import copy
from typing import Callable

from dlcore import checks
from dlcore.nn import functional as F
from dlcore.nn import init
from dlcore.nn.attention import MultiheadAttention, causal_mask
from dlcore.nn.containers import ModuleList
from dlcore.nn.dropout import Dropout
from dlcore.nn.linear import Linear
from dlcore.nn.module import Module
from dlcore.nn.norm import LayerNorm
from dlcore.tensor import Tensor

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation) -> Callable[[Tensor], Tensor]:
    if callable(activation):
        return activation
    return _ACTIVATIONS[checks.one_of("Transformer", "activation (or a callable)", activation,
                                      _ACTIVATIONS)]


class _ResidualLayer(Module):
    """What encoder and decoder layers share: the position-wise feed-forward sub-block
    (``linear1``, ``dropout``, ``linear2``; PyTorch's names, so state_dicts load by name) and the
    residual/LayerNorm wiring around every sub-block.
    """

    def _feed_forward_block(self, d_model: int, dim_feedforward: int, dropout: float, activation,
                            norm_first: bool, bias: bool) -> None:
        """Made after the attention blocks, so that the state_dict lists them in PyTorch's
        order."""
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.activation = _activation(activation)
        self.norm_first = norm_first

    def _feed_forward(self, x: Tensor) -> Tensor:
        """x: (..., d_model) -> (..., d_model)."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def _residual(self, x: Tensor, block: Callable[[Tensor], Tensor], norm: LayerNorm,
                  dropout: Dropout) -> Tensor:
        if self.norm_first:
            return x + dropout(block(norm(x)))
        return norm(x + dropout(block(x)))


class TransformerEncoderLayer(_ResidualLayer):
    """Self-attention then feed-forward. forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False) -> (L, N, E) (or (N, L, E) with ``batch_first``)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self._feed_forward_block(d_model, dim_feedforward, dropout, activation, norm_first, bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        def self_attention(x):
            return self.self_attn(x, x, x, key_padding_mask=src_key_padding_mask,
                                  need_weights=False, attn_mask=src_mask, is_causal=is_causal)[0]
        x = self._residual(src, self_attention, self.norm1, self.dropout1)
        return self._residual(x, self._feed_forward, self.norm2, self.dropout2)


class TransformerDecoderLayer(_ResidualLayer):
    """Self-attention over the target, cross-attention to the encoder's memory, feed-forward.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False) -> like tgt.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first)
        self._feed_forward_block(d_model, dim_feedforward, dropout, activation, norm_first, bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2, self.dropout3 = (Dropout(dropout), Dropout(dropout),
                                                       Dropout(dropout))

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        def self_attention(x):
            return self.self_attn(x, x, x, key_padding_mask=tgt_key_padding_mask,
                                  need_weights=False, attn_mask=tgt_mask,
                                  is_causal=tgt_is_causal)[0]

        def cross_attention(x):
            return self.multihead_attn(x, memory, memory, key_padding_mask=memory_key_padding_mask,
                                       need_weights=False, attn_mask=memory_mask,
                                       is_causal=memory_is_causal)[0]
        x = self._residual(tgt, self_attention, self.norm1, self.dropout1)
        x = self._residual(x, cross_attention, self.norm2, self.dropout2)
        return self._residual(x, self._feed_forward, self.norm3, self.dropout3)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` (``layers.{i}``), then ``norm``.

    forward(src, mask=None, src_key_padding_mask=None, is_causal=False) -> like src.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer`` (``layers.{i}``), then ``norm``.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False) -> like tgt.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder–decoder Transformer, with a final LayerNorm after each stack (PyTorch's).

    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=False,
    tgt_is_causal=False, memory_is_causal=False) -> like tgt. src: (S, N, E), tgt: (T, N, E)
    (batch first with ``batch_first``). Weight matrices start Xavier-uniform, as in PyTorch.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True):
        super().__init__()
        layer_args = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                          layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                          norm_first=norm_first, bias=bias)
        self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **layer_args),
                                          num_encoder_layers,
                                          LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **layer_args),
                                          num_decoder_layers,
                                          LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool = False,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        batch_axis = 0 if self.batch_first else 1
        if src.ndim != tgt.ndim or (
                src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]):
            raise ValueError(f"Transformer expects src and tgt with the same batch size, got src "
                             f"{tuple(src.shape)}, tgt {tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer expects src and tgt with d_model={self.d_model} "
                             f"features, got src {tuple(src.shape)}, tgt {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int) -> Tensor:
        """(sz, sz) float mask, -inf above the diagonal and 0 elsewhere (a causal attn_mask)."""
        return Tensor(causal_mask(sz))
