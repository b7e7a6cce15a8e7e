"""The Transformer encoder-decoder for translation (Vaswani et al. 2017; d2l §11.7).

Source and target tokens are embedded (drawn with std 1/√d_model, then scaled by √d_model,
so that tokens and the sinusoidal positions added to them weigh alike), and
run through ``nn.Transformer`` (pre-LN here: it trains from a plain Adam schedule): the
encoder over the source with its padding masked, the decoder causally over the target while
attending to the encoder's memory. Decoding step by step re-reads the target prefix (a
translation is a few dozen tokens, so caching keys and values would save little).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

import dlcore
from dlcore import checks, nn
from dlcore.nn.scoring import lengths_array
from dlcore.tensor import Tensor

from .registry import register


class TransformerState(NamedTuple):
    """Decoding state: the target tokens read so far (N, t), the encoder's memory (N, S, E)
    and the source valid lengths (N,)."""

    tokens: Tensor | None
    memory: Tensor
    valid_lens: np.ndarray

    def select(self, rows: np.ndarray) -> "TransformerState":
        return TransformerState(None if self.tokens is None else self.tokens[rows],
                                self.memory[rows], self.valid_lens[rows])


class TransformerTranslator(nn.Module):
    """source (N, S), decoder input (N, T), source valid lengths (N,) -> logits (N, T, V)."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int,
                 num_heads: int, num_layers: int, dim_feedforward: int, dropout: float,
                 max_len: int):
        super().__init__()
        self.d_model = d_model
        self.src_embedding = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model)
        for embedding in (self.src_embedding, self.tgt_embedding):  # unit scale after √d
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)
        self.positions = nn.PositionalEncoding(d_model, dropout, max_len, batch_first=True)
        self.transformer = nn.Transformer(d_model, num_heads, num_layers, num_layers,
                                          dim_feedforward, dropout, batch_first=True,
                                          norm_first=True)
        self.head = nn.Linear(d_model, tgt_vocab_size)

    def _embed(self, embedding, tokens):
        return self.positions(embedding(tokens) * math.sqrt(self.d_model))

    def start_state(self, source, source_len=None) -> TransformerState:
        n, s = source.shape
        lengths = np.full(n, s) if source_len is None else lengths_array(source_len)
        memory = self.transformer.encoder(self._embed(self.src_embedding, source),
                                          src_key_padding_mask=self._padding(lengths, s))
        return TransformerState(None, memory, lengths)

    @staticmethod
    def _padding(lengths: np.ndarray, size: int) -> np.ndarray:
        """(N, size) bool, True at the padding past each valid length (at least one key is
        always kept, so no attention row is empty)."""
        return np.arange(size) >= np.maximum(lengths, 1)[:, None]

    def forward_with_state(self, tokens, state: TransformerState):
        prefix = tokens if state.tokens is None else dlcore.cat([state.tokens, tokens], dim=1)
        length = prefix.shape[1]
        hidden = self.transformer.decoder(
            self._embed(self.tgt_embedding, prefix), state.memory,
            tgt_mask=nn.Transformer.generate_square_subsequent_mask(length), tgt_is_causal=True,
            memory_key_padding_mask=self._padding(state.valid_lens, state.memory.shape[1]))
        logits = self.head(hidden[:, length - tokens.shape[1]:])
        return logits, state._replace(tokens=prefix)

    @staticmethod
    def select_state(state: TransformerState, rows) -> TransformerState:
        return state.select(np.asarray(rows))

    def forward(self, source, decoder_input, source_len=None):
        return self.forward_with_state(decoder_input, self.start_state(source, source_len))[0]


@register("transformer", task="seq2seq")
def transformer(src_vocab_size: int = 100, tgt_vocab_size: int = 100, d_model: int = 128,
                num_heads: int = 4, num_layers: int = 2, dim_feedforward: int = 0,
                dropout: float = 0.1, max_len: int = 512) -> nn.Module:
    """Transformer encoder-decoder: (source, decoder input, source valid lengths) -> logits
    (N, T, V); ``num_layers`` each side, dim_feedforward 0 = 4 * d_model. The vocabulary
    sizes come from a translation dataset's metadata."""
    for name, value in (("d_model", d_model), ("num_heads", num_heads),
                        ("num_layers", num_layers), ("max_len", max_len)):
        checks.positive_int("transformer", name, value)
    if d_model % num_heads:
        raise ValueError(f"transformer: d_model = {d_model} is not divisible by num_heads = "
                         f"{num_heads}")
    return TransformerTranslator(src_vocab_size, tgt_vocab_size, d_model, num_heads,
                                 num_layers, dim_feedforward or 4 * d_model, dropout, max_len)
