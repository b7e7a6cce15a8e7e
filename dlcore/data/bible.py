"""Two public-domain Bibles with the same (KJV) versification, read from Debian's SWORD modules.

The King James Version gives an English corpus for character- and word-level language
models; aligned verse by verse with the Reina-Valera 1909 it gives English->Spanish pairs.
Test splits: the last tenth of the English token stream; every tenth verse pair.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import checks

from .storage import DamagedDataError, Resource, require
from .sword import osis_to_text, read_ztext
from .text import (TOKENIZERS, LanguageModelDataset, TranslationDataset, Vocab, pair_vocabs,
                   words)

_ZTEXT = "/usr/share/sword/modules/texts/ztext"

KJV_FILES = Resource(
    name="kjv",
    files={
        "ot.bzs": "0d518856e8c6ceae0ca58bef944ba9a2809b5d4489cf81900853ad4af227510b",
        "ot.bzv": "b4fae54cb0b979b7f3f78fe6eaa94bad1f1d408eccb4a40410402b794b5c2f0f",
        "ot.bzz": "69f7e4e9b42ecef2e212ea957a388fccbeed1e3e333a38cf52e1b4064c6ce373",
        "nt.bzs": "e7f9bc653743217cdcdf95890a708f997a03af056161d84bb540efef79e4e638",
        "nt.bzv": "9d1daab8fb6ef43b53642cdd3276c1fa95ecfde08901bbb349be6378d1e1b972",
        "nt.bzz": "135b6e70af49372f3a82c5d9cc3c00278f38dbb2c12af74ea8d4b54c18d0cd56",
    },
    system_dir=f"{_ZTEXT}/engKJV2006eb",
    debian_package="sword-text-kjv",
)

RV1909_FILES = Resource(
    name="rv1909",
    files={
        "ot.bzs": "0e39106ae15a29cef56feac683f8482be380536a1c456e006867f9fa94c0338e",
        "ot.bzv": "0f23b1ebff5ecdd352a64feda5bb047cba27ce3624fa7b00717f763835d96e20",
        "ot.bzz": "daae868e179e6cc884ad2c9429a9dfaf9745d61caa6dbb9da2a8b24ec3c01337",
        "nt.bzs": "b88dda1e9ab50d158262ab141af7823269acb19c581621683298be5b6e154d58",
        "nt.bzv": "a9583ba1b4c66dfdd8bfb6a0b1833bdaa02f9e2cc3465c5a802cf19cbc2f2533",
        "nt.bzz": "7baf6b1e798b193315fed89d0e84e8e1a033d035316f66c78d456f5fb8c87e20",
    },
    system_dir=f"{_ZTEXT}/spaRV1909eb",
    debian_package="sword-text-sparv",
)

SPLITS = ("train", "test")
_TEST_EVERY = 10  # every tenth pair, and the last tenth of the corpus, are held out


@lru_cache(maxsize=4)
def _verses_in(folder: str) -> tuple[str, ...]:
    return tuple(osis_to_text(entry) for entry in read_ztext(folder))


def verses(resource: Resource, dataset: str) -> tuple[str, ...]:
    """Plain text of every entry of a module, '' where the versification has no text."""
    folder = require(resource, dataset)
    try:
        return _verses_in(str(folder))
    except ValueError as error:
        raise DamagedDataError(dataset, folder, error) from None


def aligned_pairs(dataset: str = "kjv-rv1909") -> list[tuple[str, str]]:
    """(English, Spanish) verses, both non-empty, with 0.5 < len(es)/len(en) < 2 (31,048)."""
    english, spanish = verses(KJV_FILES, dataset), verses(RV1909_FILES, dataset)
    if len(english) != len(spanish):
        raise ValueError(f"KJV has {len(english)} entries, RV1909 {len(spanish)}: the modules "
                         f"do not share a versification")
    return [(en, es) for en, es in zip(english, spanish)
            if en and es and 0.5 < len(es) / len(en) < 2.0]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def kjv_language_model(split: str = "train", tokens: str = "char", num_steps: int = 35,
                       min_freq: int = 1, max_tokens: int = 0, sampling: str = "fixed"
                       ) -> LanguageModelDataset:
    """KJV verses joined by newlines, lower-cased, as (inputs, targets) windows of num_steps,
    served per ``sampling`` ("fixed", "random" or "sequential": :class:`LanguageModelDataset`).

    The vocabulary comes from the training part, so both splits share it. ``max_tokens`` > 0
    keeps only the first tokens of the corpus (before the train/test cut): a quick run.
    """
    _check_split(split)
    if tokens not in TOKENIZERS:
        raise ValueError(f"tokens must be one of {sorted(TOKENIZERS)}, got {tokens!r}")
    text = "\n".join(v for v in verses(KJV_FILES, "kjv") if v)
    stream = TOKENIZERS[tokens](text)
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be >= 0 (0: the whole corpus), got {max_tokens}")
    stream = stream[:max_tokens] if max_tokens else stream
    cut = len(stream) - len(stream) // _TEST_EVERY
    vocab = Vocab(stream[:cut], min_freq)
    part = stream[:cut] if split == "train" else stream[cut:]
    return LanguageModelDataset(vocab.encode(part), num_steps, vocab, sampling)


def kjv_rv1909_translation(split: str = "train", num_steps: int = 32, min_freq: int = 2,
                           max_words: int = 0) -> TranslationDataset:
    """English->Spanish verse pairs as padded id arrays; vocabularies from the training pairs.

    ``max_words`` > 0 keeps only the pairs whose sides both have at most that many tokens
    (the short verses, which a small model can learn to translate in minutes); every tenth
    of the pairs kept is held out for the test split.
    """
    _check_split(split)
    pairs = aligned_pairs()
    if max_words:
        checks.positive_int("kjv-rv1909", "max_words", max_words)
        pairs = [(en, es) for en, es in pairs
                 if len(words(en)) <= max_words and len(words(es)) <= max_words]
    held_out = np.arange(len(pairs)) % _TEST_EVERY == _TEST_EVERY - 1
    train = [pair for pair, test in zip(pairs, held_out) if not test]
    if split == "train":
        return TranslationDataset(train, num_steps, min_freq)
    src_vocab, tgt_vocab = pair_vocabs(train, min_freq)
    test = [pair for pair, test in zip(pairs, held_out) if test]
    return TranslationDataset(test, num_steps, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
