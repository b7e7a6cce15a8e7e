"""Sequence to sequence (d2l §10.6-10.7, §11.4): an encoder reads the source, a decoder
writes the target, with or without attention to the encoder's outputs.

The pieces follow d2l's interfaces: an :class:`Encoder` maps the source to its outputs and
final state; a :class:`Decoder` makes its initial state from them (``init_state``) and maps
target tokens and a state to logits and the next state (``forward``), so that the same
decoder trains on whole targets (teacher forcing) and decodes one token at a time.
:class:`EncoderDecoder` joins the two and is what :mod:`dlcore.decoding` steps through.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

import dlcore
from dlcore import checks, nn
from dlcore.nn.scoring import SCORINGS, AdditiveAttention, lengths_array, masked_softmax
from dlcore.tensor import Tensor

from .language import recurrent
from .registry import register

ATTENTION = ("none", *SCORINGS)


class DecoderState(NamedTuple):
    """What a decoder carries from step to step: its recurrent state (a tensor (layers, N, H),
    or an LSTM's (h, c)), the encoder's outputs it attends to (N, S, H) (without attention:
    the encoder's top final state (N, 1, H), its context), the keys projected once for
    additive attention (or None) and the source valid lengths (N,) (or None)."""

    hidden: object
    memory: Tensor
    keys: Tensor | None
    valid_lens: np.ndarray | None

    def select(self, rows: np.ndarray) -> "DecoderState":
        """The state of the batch rows ``rows`` (beam search keeps the best hypotheses)."""
        hidden = (tuple(part[:, rows] for part in self.hidden)
                  if isinstance(self.hidden, tuple) else self.hidden[:, rows])
        return DecoderState(hidden, self.memory[rows],
                            None if self.keys is None else self.keys[rows],
                            None if self.valid_lens is None else self.valid_lens[rows])


def _top(hidden) -> Tensor:
    """The top layer's hidden state (N, H) of a recurrent state."""
    return (hidden[0] if isinstance(hidden, tuple) else hidden)[-1]


class Encoder(nn.Module):
    """source (N, S), valid lengths (N,) -> (outputs (N, S, H), final recurrent state)."""

    def forward(self, source, source_len=None):
        raise NotImplementedError


class Decoder(nn.Module):
    """``init_state(encoded, source_len)`` -> state; ``forward(tokens (N, T), state)`` ->
    (logits (N, T, V), state)."""

    def init_state(self, encoded, source_len=None) -> DecoderState:
        raise NotImplementedError

    def forward(self, tokens, state):
        raise NotImplementedError


class RecurrentEncoder(Encoder):
    """Embedding and a recurrent stack over the whole source (padding included, as in d2l:
    attention is what uses the valid lengths)."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = recurrent(cell, embedding_dim, hidden_size, num_layers, dropout)

    def forward(self, source, source_len=None):
        return self.rnn(self.embedding(source))


class _ContextDecoder(Decoder):
    """What both recurrent decoders hold: the token embedding, a recurrent stack reading the
    embedding beside a context of the hidden size, and the head over the vocabulary."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = recurrent(cell, embedding_dim + hidden_size, hidden_size, num_layers,
                             dropout)
        self.head = nn.Linear(hidden_size, vocab_size)


class RecurrentDecoder(_ContextDecoder):
    """d2l's basic decoder: starts from the encoder's final state and reads, beside each
    input token's embedding, the encoder's top-layer final state (the same context at every
    step), over the whole target in one recurrent pass."""

    def init_state(self, encoded, source_len=None):
        _, hidden = encoded
        return DecoderState(hidden, _top(hidden).unsqueeze(1), None, None)

    def forward(self, tokens, state):
        embedded = self.embedding(tokens)
        n, t, _ = embedded.shape
        context = state.memory.expand(n, t, state.memory.shape[-1])
        output, hidden = self.rnn(dlcore.cat([embedded, context], dim=2), state.hidden)
        return self.head(output), state._replace(hidden=hidden)


class AttentionDecoder(_ContextDecoder):
    """Bahdanau et al.'s decoder (d2l §11.4): at every step the top layer's previous hidden
    state queries the encoder's outputs (masked to the source's valid length), and the
    context it pools is read beside the token's embedding. ``scoring``: "additive"
    (Bahdanau's), "dot" (scaled) or "general" (Luong's bilinear)."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout,
                 scoring: str = "additive"):
        super().__init__(vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout)
        checks.one_of("seq2seq", "attention", scoring, SCORINGS)
        if scoring == "additive":
            self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size)
        elif scoring == "general":
            self.attention = SCORINGS[scoring](hidden_size, hidden_size)
        else:
            self.attention = SCORINGS[scoring]()

    def init_state(self, encoded, source_len=None):
        outputs, hidden = encoded
        keys = self.attention.W_k(outputs) if isinstance(self.attention, AdditiveAttention) \
            else None
        return DecoderState(hidden, outputs, keys, lengths_array(source_len))

    def _context(self, state: DecoderState) -> Tensor:
        query = _top(state.hidden).unsqueeze(1)  # (N, 1, H)
        if state.keys is not None:
            scores = self.attention.score_projected(self.attention.W_q(query), state.keys)
            return masked_softmax(scores, state.valid_lens) @ state.memory
        return self.attention(query, state.memory, state.memory, state.valid_lens)[0]

    def forward(self, tokens, state):
        embedded = self.embedding(tokens)
        outputs = []
        for t in range(embedded.shape[1]):
            step = dlcore.cat([embedded[:, t:t + 1], self._context(state)], dim=2)
            output, hidden = self.rnn(step, state.hidden)
            state = state._replace(hidden=hidden)
            outputs.append(output)
        return self.head(dlcore.cat(outputs, dim=1)), state


class EncoderDecoder(nn.Module):
    """source (N, S), decoder input (N, T) (``<bos>`` then the target shifted right), source
    valid lengths (N,) -> logits (N, T, V); ``start_state`` / ``forward_with_state`` /
    ``select_state`` decode it step by step."""

    def __init__(self, encoder: Encoder, decoder: Decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def start_state(self, source, source_len=None) -> DecoderState:
        return self.decoder.init_state(self.encoder(source, source_len), source_len)

    def forward_with_state(self, tokens, state: DecoderState):
        return self.decoder(tokens, state)

    @staticmethod
    def select_state(state: DecoderState, rows) -> DecoderState:
        return state.select(rows)

    def forward(self, source, decoder_input, source_len=None):
        return self.decoder(decoder_input, self.start_state(source, source_len))[0]


@register("seq2seq", task="seq2seq")
def seq2seq(src_vocab_size: int = 100, tgt_vocab_size: int = 100, embedding_dim: int = 32,
            hidden_size: int = 64, num_layers: int = 2, cell: str = "gru",
            dropout: float = 0.1, attention: str = "none") -> nn.Module:
    """Recurrent encoder-decoder: (source, decoder input, source valid lengths) -> logits
    (N, T, V). ``attention`` "none" is d2l §10.7's model; "additive" is Bahdanau's (d2l
    §11.4), "dot" and "general" Luong's scorings. The vocabulary sizes come from a
    translation dataset's metadata."""
    checks.one_of("seq2seq", "attention", attention, ATTENTION)
    encoder = RecurrentEncoder(src_vocab_size, embedding_dim, hidden_size, num_layers, cell,
                               dropout)
    sizes = (tgt_vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout)
    decoder = RecurrentDecoder(*sizes) if attention == "none" else AttentionDecoder(
        *sizes, scoring=attention)
    return EncoderDecoder(encoder, decoder)
