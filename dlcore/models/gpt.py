"""GPT (Radford et al. 2018; d2l §11.9): a decoder-only Transformer language model.

Token and position embeddings, a stack of pre-LN Transformer blocks (LayerNorm before each
sub-block, which trains without warm-up tricks at this depth) whose self-attention is causal,
a final LayerNorm and a linear head over the vocabulary.
"""
from __future__ import annotations

import functools
import sys

import numpy as np

from dlcore import checks
from dlcore import nn as dlcore_nn
from dlcore.nn.positional import sinusoidal_encoding

from .registry import register

POSITIONS = ("learned", "sinusoidal")


def _freeze_to(parameter, table: np.ndarray) -> None:
    """Fill ``parameter`` with ``table`` and stop it learning, in either namespace (a torch
    tensor takes only a tensor of its own kind)."""
    data = parameter.data
    data[...] = table if isinstance(data, np.ndarray) else data.new_tensor(table)
    parameter.requires_grad_(False)


@functools.cache
def _gpt(nn):
    """The model class for one ``nn`` namespace (ours or torch's), built once."""

    class GPT(nn.Module):
        """tokens (N, T) int64, T <= block_size -> next-token logits (N, T, V)."""

        def __init__(self, vocab_size: int, block_size: int, d_model: int, num_heads: int,
                     num_layers: int, dim_feedforward: int, dropout: float, positions: str):
            super().__init__()
            self.block_size = block_size
            self.token_embedding = nn.Embedding(vocab_size, d_model)
            self.position_embedding = nn.Embedding(block_size, d_model)
            if positions == "sinusoidal":
                _freeze_to(self.position_embedding.weight,
                           sinusoidal_encoding(np.arange(block_size), d_model))
            self.dropout = nn.Dropout(dropout)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
                for _ in range(num_layers)])
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab_size)

        def forward(self, tokens):
            length = tokens.shape[1]
            if length > self.block_size:
                raise ValueError(f"gpt reads at most block_size = {self.block_size} tokens at "
                                 f"a time, got {length}")
            positions = self.position_embedding.weight[:length]
            x = self.dropout(self.token_embedding(tokens) + positions)
            mask = nn.Transformer.generate_square_subsequent_mask(length)
            for block in self.blocks:
                x = block(x, src_mask=mask, is_causal=True)
            return self.head(self.norm(x))

        def forward_with_state(self, tokens, state=None):
            """(logits of ``tokens`` (N, T, V), the context so far): the state is the last
            ``block_size`` tokens read, which the next call attends to (decoding)."""
            context = tokens if state is None else _cat(nn, state, tokens)
            context = context[:, -self.block_size:]
            new = min(tokens.shape[1], context.shape[1])
            return self.forward(context)[:, -new:], context

        @staticmethod
        def select_state(state, rows):
            """The context of the batch rows ``rows``."""
            return state[rows]

    return GPT


def _cat(nn, a, b):
    """a and b joined along the time axis by the namespace's own package (dlcore or torch)."""
    return sys.modules[nn.__name__.rpartition(".")[0]].cat([a, b], dim=1)


@register("gpt", task="language_model")
def gpt(vocab_size: int = 67, block_size: int = 128, d_model: int = 128, num_heads: int = 4,
        num_layers: int = 4, dim_feedforward: int = 0, dropout: float = 0.1,
        positions: str = "learned", *, nn=dlcore_nn):
    """Decoder-only Transformer LM: tokens (N, T <= block_size) -> logits (N, T, V).

    dim_feedforward 0 means 4 * d_model (GPT's); positions "learned" (GPT's) or "sinusoidal"
    (fixed, Vaswani et al.). vocab_size must equal the dataset's vocabulary.
    """
    for name, value in (("vocab_size", vocab_size), ("block_size", block_size),
                        ("d_model", d_model), ("num_heads", num_heads),
                        ("num_layers", num_layers)):
        checks.positive_int("gpt", name, value)
    if d_model % num_heads:
        raise ValueError(f"gpt: d_model = {d_model} is not divisible by num_heads = "
                         f"{num_heads}")
    checks.one_of("gpt", "positions", positions, POSITIONS)
    return _gpt(nn)(vocab_size, block_size, d_model, num_heads, num_layers,
                    dim_feedforward or 4 * d_model, dropout, positions)
