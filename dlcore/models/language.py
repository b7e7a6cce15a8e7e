"""Recurrent language models: next-token prediction over token ids."""
from __future__ import annotations

import functools

from dlcore import checks
from dlcore import nn as dlcore_nn

from .registry import register

CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
              nn=dlcore_nn):
    """A batch-first recurrent stack of ``cell`` ("rnn", "lstm" or "gru") from ``nn``."""
    layer = getattr(nn, CELLS[checks.one_of("rnn_lm", "cell", cell, CELLS)])
    return layer(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                 dropout=dropout)


@functools.cache
def _language_model(nn):
    """The model class for one ``nn`` namespace (ours or torch's), built once."""

    class RecurrentLanguageModel(nn.Module):
        """tokens (N, T) int64 -> next-token logits (N, T, V): embedding, recurrent stack,
        linear."""

        def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int,
                     num_layers: int, cell: str, dropout: float):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.rnn = recurrent(cell, embedding_dim, hidden_size, num_layers, dropout, nn)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, tokens):
            return self.forward_with_state(tokens)[0]

        def forward_with_state(self, tokens, state=None):
            """(logits (N, T, V), the final state) continuing from ``state`` (None: zeros):
            what truncated BPTT carries across batches and decoding carries across steps."""
            hidden, state = self.rnn(self.embedding(tokens), state)
            return self.head(hidden), state

        @staticmethod
        def select_state(state, rows):
            """The state of the batch rows ``rows`` (layers first: (layers, N, H) each)."""
            if isinstance(state, tuple):
                return tuple(part[:, rows] for part in state)
            return state[:, rows]

    return RecurrentLanguageModel


@register("rnn_lm", task="language_model")
def rnn_lm(vocab_size: int = 67, embedding_dim: int = 32, hidden_size: int = 128,
           num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0, *, nn=dlcore_nn):
    """Character/word language model (RNN, LSTM or GRU): tokens (N, T) -> logits (N, T, V).

    vocab_size must equal the dataset's vocabulary (67 for the KJV's characters).
    """
    return _language_model(nn)(vocab_size, embedding_dim, hidden_size, num_layers, cell,
                               dropout)
