"""Text as integer arrays: tokenisers, a vocabulary, language-model windows, translation pairs.

Conventions (FEATURES §7): tokens seen fewer than ``min_freq`` times become ``<unk>``; a
translated sentence ends with ``<eos>`` and is padded with ``<pad>`` or truncated to
``num_steps``; ``valid_len`` counts its non-pad tokens. ``<bos>`` is reserved for the decoder
input, which the model builds by shifting the target (teacher forcing).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from .. import checks
from .dataset import ArrayDataset, Dataset

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<bos>", "<eos>"
#: Vocabularies up to this size are listed whole in a dataset's metadata (KJV words: 12.8k).
LISTED_VOCAB_SIZE = 10_000
_WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased words, each punctuation mark a token of its own."""
    return _WORD.findall(text.lower())


def chars(text: str) -> list[str]:
    """Lower-cased characters, spaces and newlines included."""
    return list(text.lower())


TOKENIZERS = {"word": words, "char": chars}
def join_tokens(tokens: Sequence[str], tokenizer: str) -> str:
    """Text of tokens from :data:`TOKENIZERS`: characters as they are; words spaced, with
    each punctuation mark (a one-character token :func:`words` split off) against the word
    before it. Special tokens such as ``<unk>`` stand as words."""
    if tokenizer == "char":
        return "".join(tokens)
    text = ""
    for token in tokens:
        mark = len(token) == 1 and not (token.isalnum() or token == "_")
        text += token if not text or mark else " " + token
    return text


class Vocab:
    """Token <-> index. ``<unk>`` is 0, then the reserved tokens, then by falling frequency
    (ties alphabetical, so the same text always gives the same indices)."""

    def __init__(self, tokens: Iterable[str] = (), min_freq: int = 1,
                 reserved: Sequence[str] = (PAD, BOS, EOS)):
        checks.positive_int("Vocab", "min_freq", min_freq)
        specials = [UNK, *(t for t in reserved if t != UNK)]
        counts = Counter(tokens)
        frequent = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                          key=lambda t: (-counts[t], t))
        self._set_tokens(specials + frequent)

    @classmethod
    def from_tokens(cls, index_to_token: Sequence[str]) -> "Vocab":
        """The vocabulary whose token at index i is ``index_to_token[i]`` (as saved by
        :attr:`tokens`); index 0 must be ``<unk>``."""
        if not index_to_token or index_to_token[0] != UNK:
            raise ValueError(f"Vocab.from_tokens needs {UNK!r} at index 0, got "
                             f"{list(index_to_token[:1])}")
        vocab = cls.__new__(cls)
        vocab._set_tokens(list(index_to_token))
        return vocab

    def _set_tokens(self, tokens: list[str]) -> None:
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocab tokens must be distinct")
        self.tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def __getitem__(self, token: str) -> int:
        return self._index.get(token, 0)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Indices of ``tokens`` (unknown ones -> 0): int64 (len(tokens),)."""
        index = self._index
        return np.fromiter((index.get(t, 0) for t in tokens), dtype=np.int64)

    def decode(self, indices: Iterable[int]) -> list[str]:
        """Tokens of ``indices``."""
        return [self.tokens[int(i)] for i in indices]


#: How a language-model dataset serves its stream in an epoch (:class:`LanguageModelDataset`).
SAMPLING = ("fixed", "random", "sequential")


class LanguageModelDataset(Dataset):
    """Windows of ``num_steps`` tokens of one stream, each with the next tokens as targets:
    inputs (N, num_steps) and targets (N, num_steps), int64.

    A sample's key is where its window starts in the stream, and ``sampling`` decides which
    windows an epoch serves (:meth:`epoch_order`; d2l §9.3):

    - "fixed": the windows at 0, T, 2T, … (a shuffling loader shuffles them).
    - "random": those windows moved by an offset in [0, T) drawn anew each epoch, so a model
      sees every cut of the text (d2l's ``seq_data_iter_random``), shuffled.
    - "sequential": that offset, and the stream cut into ``batch_size`` parallel streams, so
      that row i of each batch continues row i of the batch before (d2l's
      ``seq_data_iter_sequential``): a recurrent model may carry its state across batches
      (truncated backpropagation through time). Windows are never shuffled.

    An unshuffled epoch (evaluation) always starts at offset 0. ``len`` counts the windows at
    offset 0; an epoch serves at most that many.
    """

    def __init__(self, ids: np.ndarray, num_steps: int, vocab: Vocab, sampling: str = "fixed"):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1:
            raise ValueError(f"LanguageModelDataset expects ids: (T,), got shape {ids.shape}")
        if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) \
                or num_steps < 1 or ids.shape[0] < num_steps + 1:
            raise ValueError(f"LanguageModelDataset needs 1 <= num_steps < len(ids), got "
                             f"num_steps={num_steps} for {ids.shape[0]} tokens")
        self.sampling = checks.one_of("LanguageModelDataset", "sampling", sampling, SAMPLING)
        self.ids, self.num_steps, self.vocab = ids, int(num_steps), vocab

    def __len__(self) -> int:
        return (len(self.ids) - 1) // self.num_steps

    def epoch_order(self, rng, batch_size):
        steps = self.num_steps
        if self.sampling == "fixed" or rng is None:
            offset, windows = 0, len(self)
        else:  # room for the largest offset, so every epoch serves as many windows
            offset = int(rng.integers(steps))
            windows = (len(self.ids) - steps) // steps
        starts = offset + steps * np.arange(windows, dtype=np.int64)
        if self.sampling != "sequential":
            return starts if rng is None else starts[rng.permutation(windows)]
        per_stream = windows // batch_size  # sequential: batch b, row i = window i*B + b
        if per_stream == 0:
            raise ValueError(f"sequential sampling needs at least batch_size = {batch_size} "
                             f"windows of {steps} tokens; this stream of {len(self.ids)} "
                             f"tokens has {windows}")
        return starts[:per_stream * batch_size].reshape(batch_size, per_stream).T.reshape(-1)

    def get_batch(self, indices, rng=None):
        starts = np.asarray(indices, dtype=np.int64)
        window = starts[:, None] + np.arange(self.num_steps)
        return self.ids[window], self.ids[window + 1]

    def split_validation(self, fraction, seed):
        """The stream's last ``fraction`` of tokens held out in one piece (as the test split
        is), so neither part's windows straddle the other's text; ``seed`` plays no part."""
        cut = len(self.ids) - round(fraction * len(self.ids))
        need = self.num_steps + 1
        if cut < need or len(self.ids) - cut < need:
            raise ValueError(f"a validation fraction of {fraction} of {len(self.ids)} tokens "
                             f"leaves a part shorter than num_steps + 1 = {need} tokens")
        return (LanguageModelDataset(self.ids[:cut], self.num_steps, self.vocab, self.sampling),
                LanguageModelDataset(self.ids[cut:], self.num_steps, self.vocab, self.sampling))

    @property
    def metadata(self) -> dict:
        """vocab_size, vocab (index = id; only up to LISTED_VOCAB_SIZE tokens), unk_id,
        seq_len, sampling (a model may carry its state across "sequential" batches)."""
        listed = {"vocab": list(self.vocab.tokens)} if len(self.vocab) <= LISTED_VOCAB_SIZE else {}
        return {"vocab_size": len(self.vocab), **listed, "unk_id": self.vocab[UNK],
                "seq_len": self.num_steps, "sampling": self.sampling}


def pad_or_truncate(sequences: Sequence[np.ndarray], num_steps: int, pad: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of exactly ``num_steps`` ids, and how many of each are real: (N, num_steps), (N,)."""
    lengths = np.fromiter((min(len(s), num_steps) for s in sequences), dtype=np.int64,
                          count=len(sequences))
    out = np.full((len(sequences), num_steps), pad, dtype=np.int64)
    for row, seq in enumerate(sequences):
        out[row, :lengths[row]] = seq[:num_steps]
    return out, lengths


def _sentence_vocab(sentences: Iterable[list[str]], min_freq: int) -> Vocab:
    return Vocab((token for sentence in sentences for token in sentence), min_freq)


def pair_vocabs(pairs: Sequence[tuple[str, str]], min_freq: int = 2) -> tuple[Vocab, Vocab]:
    """The source and target vocabularies :class:`TranslationDataset` would build from pairs."""
    return (_sentence_vocab((words(src) for src, _ in pairs), min_freq),
            _sentence_vocab((words(tgt) for _, tgt in pairs), min_freq))


class TranslationDataset(ArrayDataset):
    """Sentence pairs as (source, source_valid_len, target, target_valid_len).

    source, target: (N, num_steps) int64, each sentence followed by ``<eos>`` then padded or
    truncated; valid lengths: (N,). Vocabularies are built from ``pairs`` (words seen fewer than
    ``min_freq`` times -> ``<unk>``) unless given, e.g. a training set's for its test set.
    """

    def __init__(self, pairs: Sequence[tuple[str, str]], num_steps: int, min_freq: int = 2,
                 src_vocab: Vocab | None = None, tgt_vocab: Vocab | None = None):
        if num_steps < 2:
            raise ValueError(f"TranslationDataset num_steps must be >= 2, got {num_steps}")
        if not pairs:
            raise ValueError("TranslationDataset needs at least one pair")
        source = [words(src) for src, _ in pairs]
        target = [words(tgt) for _, tgt in pairs]
        self.src_vocab = src_vocab or _sentence_vocab(source, min_freq)
        self.tgt_vocab = tgt_vocab or _sentence_vocab(target, min_freq)
        for side, vocab in (("src_vocab", self.src_vocab), ("tgt_vocab", self.tgt_vocab)):
            if PAD not in vocab or BOS not in vocab or EOS not in vocab:
                raise ValueError(f"TranslationDataset {side} lacks {PAD}, {BOS} or {EOS}")
        for token in (PAD, BOS, EOS):  # one id per special token, whichever side a model reads
            if self.src_vocab[token] != self.tgt_vocab[token]:
                raise ValueError(f"TranslationDataset vocabularies disagree on {token}: id "
                                 f"{self.src_vocab[token]} in src_vocab, "
                                 f"{self.tgt_vocab[token]} in tgt_vocab")
        arrays = []
        for sentences, vocab in ((source, self.src_vocab), (target, self.tgt_vocab)):
            ids = [vocab.encode([*tokens, EOS]) for tokens in sentences]
            arrays += pad_or_truncate(ids, num_steps, vocab[PAD])
        super().__init__(*arrays)
        self.num_steps = num_steps

    @property
    def metadata(self) -> dict:
        """src_vocab_size, tgt_vocab_size, the special ids both vocabularies share, num_steps."""
        vocab = self.tgt_vocab
        return {"src_vocab_size": len(self.src_vocab), "tgt_vocab_size": len(vocab),
                "unk_id": vocab[UNK], "pad_id": vocab[PAD], "bos_id": vocab[BOS],
                "eos_id": vocab[EOS], "num_steps": self.num_steps}
