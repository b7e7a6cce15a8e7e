"""Text from trained sequence models: ``generate`` continues a prompt with a language model
(``dl generate``), ``translate`` translates sentences with an encoder-decoder
(``dl translate``).

The prompt is tokenised as the run's data was and read by the model (warming up its state);
the continuation is decoded by :mod:`dlcore.decoding`: sampled at a temperature (0: greedy),
optionally from the top-k tokens only, or found by beam search.
"""
from __future__ import annotations

import numpy as np

from dlcore import decoding
from dlcore.data.text import EOS, PAD, join_tokens, pad_or_truncate, words

from .errors import ConfigError
from . import components
from .predict import LoadedRun, encode_text, vocabulary


def generate(loaded: LoadedRun, prompt: str, length: int = 200, temperature: float = 1.0,
             top_k: int = 0, beam: int = 0, seed: int | None = None) -> dict:
    """{"prompt", "text" (the continuation), "tokens" (its ids), "full" (prompt and
    continuation as one text), "log_prob" (beam search's)} of ``length``
    new tokens after ``prompt``; ``beam`` > 0 searches with that many beams (``temperature``
    and ``top_k`` then play no part); ``seed`` fixes the sampling."""
    if loaded.task.name != "language_model":
        raise ConfigError(f"dl generate continues text with a language model; this run's task "
                          f"is {loaded.task.name}" + (" (dl translate decodes it)"
                                                      if loaded.task.name == "seq2seq" else ""))
    try:
        stepper = decoding.ModelStepper(loaded.model)
    except TypeError as error:
        raise ConfigError(str(error)) from None
    vocab = vocabulary(loaded)
    ids = encode_text(loaded, prompt, vocab)
    if not len(ids):
        raise ValueError("the prompt holds no token: give at least one character or word")
    if beam:
        best = decoding.beam_search(stepper, ids[None], length, beam_size=beam)[0]
        tokens, log_prob = list(best.tokens), best.log_prob
    else:
        tokens = decoding.sample(stepper, ids[None], length, temperature, top_k,
                                 rng=np.random.default_rng(seed))[0]
        log_prob = None
    kind = loaded.experiment.data.get("tokens", "char")
    return {"prompt": join_tokens(vocab.decode(ids), kind),
            "text": join_tokens(vocab.decode(tokens), kind), "tokens": tokens,
            "full": join_tokens(vocab.decode([*ids, *tokens]), kind), "log_prob": log_prob}


def translate(loaded: LoadedRun, sentences: list[str], beam: int = 0) -> list[dict]:
    """{"source", "translation", "tokens"} of each sentence: read as the run's source side
    was (words, ``<eos>``, truncated to the data's ``num_steps``), decoded greedily or with
    ``beam`` beams. The vocabularies are rebuilt from the run's training data, which must be
    on this machine."""
    if loaded.task.name != "seq2seq":
        raise ConfigError(f"dl translate needs an encoder-decoder run; this run's task is "
                          f"{loaded.task.name}")
    if not sentences or not all(words(s) for s in sentences):
        raise ValueError("give at least one sentence, each with at least one word")
    data = components.build_dataset(loaded.experiment, "train")
    source, target = data.src_vocab, data.tgt_vocab
    ids = [source.encode([*words(sentence), EOS]) for sentence in sentences]
    rows, lengths = pad_or_truncate(ids, data.num_steps, source[PAD])
    translated = loaded.task.translate(loaded.model, rows, lengths, beam)
    return [{"source": sentence, "translation": join_tokens(target.decode(tokens), "word"),
             "tokens": tokens} for sentence, tokens in zip(sentences, translated)]
