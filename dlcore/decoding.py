"""Decoding: turning a sequence model's next-token distributions into sequences.

Every generative sequence model decodes the same way, through a *stepper* that knows the
model: ``start(prompt)`` reads the prompt ids (B, P) and returns the log-probabilities of the
next token (B, V) and the state after it; ``step(tokens, state)`` feeds one token per row (B,)
and returns the same; ``select(state, rows)`` keeps the states of the given rows (beam search
reorders and copies hypotheses). :class:`ModelStepper` is the stepper of any model with
``forward_with_state`` and ``select_state``: the recurrent language models and GPT from no
state, an encoder-decoder from its ``start_state(source, source_len)``.

- :func:`sample`: greedy (``temperature = 0``) or sampling from the distribution sharpened by
  ``temperature`` and cut to the ``top_k`` most probable tokens, for a batch of prompts.
- :func:`beam_search`: the ``beam_size`` best hypotheses by summed log-probability; a
  hypothesis that emits ``eos_id`` is set aside, and the finished and surviving ones are
  ranked by the length-normalised score ``(1 / L**alpha) * sum(log P)`` (d2l §10.8; FEATURES
  §10 corrects the notes' indices), L counting the generated tokens, ``<eos>`` included.
  With ``beam_size = 1`` it is greedy decoding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import checks
from .tensor import Tensor, no_grad


class Stepper(Protocol):
    def start(self, prompt: np.ndarray) -> tuple[np.ndarray, object]: ...

    def step(self, tokens: np.ndarray, state: object) -> tuple[np.ndarray, object]: ...

    def select(self, state: object, rows: np.ndarray) -> object: ...


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities in float64 (decoding sums many of them)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class ModelStepper:
    """A model as a stepper: ``model.forward_with_state(tokens, state)`` → (logits (B, T, V),
    state) and ``model.select_state(state, rows)``, starting from ``state`` (None: the
    model's own start; an encoder-decoder's ``start_state``, one row per prompt row). Runs
    without gradients, in the model's current mode (put it in eval mode first)."""

    def __init__(self, model, state=None):
        for method in ("forward_with_state", "select_state"):
            if not hasattr(model, method):
                raise TypeError(f"{type(model).__name__} cannot be decoded step by step (it "
                                f"has no {method})")
        self.model, self.initial = model, state

    def _run(self, tokens: np.ndarray, state):
        with no_grad():
            logits, state = self.model.forward_with_state(Tensor(tokens), state)
        return log_softmax(logits.data[:, -1]), state

    def start(self, prompt):
        return self._run(np.asarray(prompt, dtype=np.int64), self.initial)

    def step(self, tokens, state):
        return self._run(np.asarray(tokens, dtype=np.int64)[:, None], state)

    def select(self, state, rows):
        return self.model.select_state(state, np.asarray(rows, dtype=np.int64))


def _check_prompt(prompt) -> np.ndarray:
    prompt = np.asarray(prompt)
    if prompt.ndim != 2 or prompt.shape[0] < 1 or prompt.shape[1] < 1 \
            or not np.issubdtype(prompt.dtype, np.integer):
        raise ValueError(f"a prompt must be token ids of shape (batch >= 1, length >= 1), got "
                         f"{prompt.dtype} of shape {prompt.shape}")
    return prompt.astype(np.int64)


def sample(stepper: Stepper, prompt, max_length: int, temperature: float = 1.0, top_k: int = 0,
           eos_id: int | None = None, rng: np.random.Generator | None = None
           ) -> list[list[int]]:
    """Up to ``max_length`` new tokens after each prompt row: (B, P) ids → B lists.

    ``temperature`` 0 takes the most probable token (greedy); otherwise tokens are drawn from
    ``softmax(logits / temperature)`` restricted to the ``top_k`` most probable (0: all), by
    ``rng``. A row stops after emitting ``eos_id`` (which it keeps).
    """
    prompt = _check_prompt(prompt)
    checks.positive_int(None, "max_length", max_length)
    if not (temperature >= 0 and np.isfinite(temperature)):
        raise ValueError(f"temperature must be >= 0 (0: greedy), got {temperature!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValueError(f"top_k must be an integer >= 0 (0: every token), got {top_k!r}")
    rng = rng if rng is not None else np.random.default_rng()
    log_probs, state = stepper.start(prompt)
    rows = len(prompt)
    out, done = [[] for _ in range(rows)], np.zeros(rows, dtype=bool)
    for position in range(max_length):
        tokens = _choose(log_probs, temperature, top_k, rng)
        for row in np.flatnonzero(~done):
            out[row].append(int(tokens[row]))
        if eos_id is not None:
            done |= tokens == eos_id
        if done.all() or position == max_length - 1:
            break
        log_probs, state = stepper.step(tokens, state)
    return out


def _choose(log_probs: np.ndarray, temperature: float, top_k: int,
            rng: np.random.Generator) -> np.ndarray:
    if temperature == 0:
        return log_probs.argmax(axis=-1)
    scaled = log_probs / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = np.partition(scaled, -top_k, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    probabilities = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    cumulative = probabilities.cumsum(axis=-1)
    draws = rng.random((len(probabilities), 1)) * cumulative[:, -1:]
    return np.minimum((cumulative <= draws).sum(axis=-1), probabilities.shape[-1] - 1)


@dataclass(frozen=True)
class Hypothesis:
    """A decoded continuation: its tokens, summed log-probability and normalised score."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float
    finished: bool  # it ended with <eos>


def beam_search(stepper: Stepper, prompt, max_length: int, beam_size: int = 5,
                eos_id: int | None = None, alpha: float = 0.75) -> list[Hypothesis]:
    """The best continuations of one prompt (1, P), best score first (see the module
    docstring): at most ``beam_size`` of them, from the finished and the surviving
    hypotheses. The search stops once ``beam_size`` hypotheses have finished, or after
    ``max_length`` tokens."""
    prompt = _check_prompt(prompt)
    if len(prompt) != 1:
        raise ValueError(f"beam_search decodes one prompt at a time, got {len(prompt)}")
    checks.positive_int(None, "max_length", max_length)
    checks.positive_int(None, "beam_size", beam_size)
    if not alpha >= 0:
        raise ValueError(f"alpha (the length normalisation's exponent) must be >= 0, got "
                         f"{alpha!r}")
    log_probs, state = stepper.start(prompt)
    alive_tokens: list[tuple[int, ...]] = [()]
    alive_scores = np.zeros(1)
    finished: list[Hypothesis] = []

    def normalised(log_prob: float, length: int) -> float:
        return log_prob / length ** alpha

    for length in range(1, max_length + 1):
        total = alive_scores[:, None] + log_probs  # (alive, V)
        flat = total.ravel()
        order = np.argsort(-flat, kind="stable")[:2 * beam_size]  # room for <eos> picks
        keep_rows, keep_tokens, keep_scores = [], [], []
        for index in order:
            row, token = divmod(int(index), total.shape[1])
            tokens = alive_tokens[row] + (token,)
            if eos_id is not None and token == eos_id:
                finished.append(Hypothesis(tokens, float(flat[index]),
                                           normalised(float(flat[index]), length), True))
                continue
            keep_rows.append(row)
            keep_tokens.append(tokens)
            keep_scores.append(flat[index])
            if len(keep_rows) == beam_size:
                break
        alive_tokens, alive_scores = keep_tokens, np.asarray(keep_scores)
        if len(finished) >= beam_size or not keep_rows or length == max_length:
            break
        state = stepper.select(state, np.asarray(keep_rows))
        log_probs, state = stepper.step(np.asarray([t[-1] for t in alive_tokens]), state)
    survivors = [Hypothesis(tokens, float(score), normalised(float(score), len(tokens)), False)
                 for tokens, score in zip(alive_tokens, alive_scores)]
    ranked = sorted(finished + survivors, key=lambda h: -h.score)
    return ranked[:beam_size]
