"""Sequence to sequence (d2l §10.7): a recurrent encoder reads the source, a recurrent decoder
writes the target from the encoder's final state."""
from __future__ import annotations

import dlcore
from dlcore import nn

from .language import recurrent
from .registry import register


class Seq2Seq(nn.Module):
    """source (N, S), decoder input (N, T) (``<bos>`` then the target shifted right), source
    valid lengths (N,) -> logits (N, T, V).

    The decoder starts from the encoder's final state and reads, at every step, the encoder's
    top-layer final state (the context) beside its input token's embedding. As in d2l's basic
    model the encoder reads the padding too; attention (Bahdanau) is what uses the lengths.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embedding_dim: int,
                 hidden_size: int, num_layers: int, cell: str, dropout: float):
        super().__init__()
        self.encoder_embedding = nn.Embedding(src_vocab_size, embedding_dim)
        self.encoder = recurrent(cell, embedding_dim, hidden_size, num_layers, dropout)
        self.decoder_embedding = nn.Embedding(tgt_vocab_size, embedding_dim)
        self.decoder = recurrent(cell, embedding_dim + hidden_size, hidden_size, num_layers,
                                 dropout)
        self.head = nn.Linear(hidden_size, tgt_vocab_size)

    def encode(self, source):
        _, state = self.encoder(self.encoder_embedding(source))
        return state

    def decode(self, decoder_input, state):
        """Logits (N, T, V) and the decoder's state after them (for step-by-step decoding)."""
        top = (state[0] if isinstance(state, tuple) else state)[-1]  # (N, H)
        embedded = self.decoder_embedding(decoder_input)
        n, t, _ = embedded.shape
        context = top.unsqueeze(1).expand(n, t, top.shape[-1])
        output, state = self.decoder(dlcore.cat([embedded, context], dim=2), state)
        return self.head(output), state

    def forward(self, source, decoder_input, source_len=None):
        return self.decode(decoder_input, self.encode(source))[0]


@register("seq2seq", task="seq2seq")
def seq2seq(src_vocab_size: int = 100, tgt_vocab_size: int = 100, embedding_dim: int = 32,
            hidden_size: int = 64, num_layers: int = 2, cell: str = "gru",
            dropout: float = 0.1) -> nn.Module:
    """Recurrent encoder-decoder (d2l §10.7): (source, decoder input) -> logits (N, T, V).

    The vocabulary sizes come from a translation dataset's metadata.
    """
    return Seq2Seq(src_vocab_size, tgt_vocab_size, embedding_dim, hidden_size, num_layers, cell,
                   dropout)
