"""Quality metrics of what models make: corpus BLEU of translations and the classifier score
of generated images.

Corpus BLEU (Papineni et al., 2002) on token sequences, scored as sacrebleu scores them.

The numbers equal ``sacrebleu.corpus_bleu(..., tokenize="none", smooth_method="none")`` (and
``"exp"`` with ``smooth=True``) on the same tokens joined by spaces, so a translation model's
score can be set beside published ones; but the input is tokens (strings or ids), because a
model emits ids and detokenising them only for sacrebleu to split them again changes nothing.

BLEU is a ratio of corpus-wide counts, not a mean of sentence scores, so evaluation in batches
keeps the counts: :func:`bleu_statistics` of each batch, summed (a training ``Meter`` sums
them, and a checkpoint holds them exactly), then :func:`bleu_from_statistics` once.
:func:`corpus_bleu` is the two in one call; :func:`sentence_bleu` scores one sentence.

:func:`classifier_score` is the Inception Score (Salimans et al., 2016) with a classifier of
one's own in place of Inception v3.
"""
from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Set

import numpy as np

from . import checks

__all__ = ["bleu_from_statistics", "bleu_statistics", "corpus_bleu", "sentence_bleu"]


def _is_token(value) -> bool:
    return isinstance(value, str) or (isinstance(value, numbers.Integral)
                                      and not isinstance(value, bool))


def _is_token_list(value) -> bool:
    """A candidate sequence of tokens: ordered and sized, but not a string (a string is one
    sentence that has not been split yet, not a list of character tokens by accident)."""
    return (isinstance(value, Collection) and not isinstance(value, (str, bytes, bytearray))
            and not isinstance(value, (Mapping, Set)))


def _tokens(owner: str, what: str, value) -> tuple:
    """``value`` as a tuple of tokens, or one clear error naming ``what`` it was meant to be."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{owner}: {what} is a string, not a sequence of tokens; split it into "
                         f"tokens first (e.g. text.split())")
    if not _is_token_list(value):
        raise ValueError(f"{owner}: {what} must be a sequence of tokens (str or int), got "
                         f"{type(value).__name__}")
    tokens = tuple(value)
    for token in tokens:
        if not _is_token(token):
            raise ValueError(f"{owner}: {what} must be a sequence of tokens (str or int), but "
                             f"holds a {type(token).__name__}: {token!r}")
    return tokens


def _reference_set(owner: str, value, label) -> list[tuple]:
    """One hypothesis's references: a token list is one reference, a list holding sequences is
    several (a string among them is then an unsplit reference, not a token)."""
    if _is_token_list(value) and any(_is_token_list(item) for item in value):
        return [_tokens(owner, label(j), ref) for j, ref in enumerate(value)]
    return [_tokens(owner, label(None), value)]


def _ngrams(tokens: tuple, max_order: int) -> Counter:
    return Counter(tokens[i:i + n] for n in range(1, max_order + 1)
                   for i in range(len(tokens) - n + 1))


def _as_list(owner: str, name: str, value) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{owner}: {name} must be a sequence with one item per sentence, got "
                         f"{type(value).__name__}")
    return list(value)


def _reference_label(i: int, j: int | None, single: bool) -> str:
    if single:
        return "the reference" if j is None else f"reference {j}"
    return f"reference {i}" if j is None else f"reference {j} of hypothesis {i}"


def _statistics(owner: str, hypotheses, references, max_order, single=False) -> np.ndarray:
    max_order = checks.positive_int(owner, "max_order", max_order)
    hypotheses = _as_list(owner, "hypotheses", hypotheses)
    references = _as_list(owner, "references", references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{owner}: hypotheses and references differ in length "
                         f"({len(hypotheses)} vs {len(references)}); give one reference (or list "
                         f"of references) per hypothesis")
    hyp_len = ref_len = 0
    matches, totals = [0] * max_order, [0] * max_order
    for i, (hypothesis, refs) in enumerate(zip(hypotheses, references)):
        hypothesis = _tokens(owner, "the hypothesis" if single else f"hypothesis {i}",
                             hypothesis)
        refs = _reference_set(owner, refs, lambda j: _reference_label(i, j, single))
        clip = Counter()  # each n-gram may match as often as the most generous reference has it
        for ref in refs:
            clip |= _ngrams(ref, max_order)
        for ngram, count in _ngrams(hypothesis, max_order).items():
            totals[len(ngram) - 1] += count
            matches[len(ngram) - 1] += min(count, clip[ngram])
        hyp_len += len(hypothesis)
        # the reference length closest to the hypothesis's, the shorter on a tie (sacrebleu's)
        ref_len += min((len(ref) for ref in refs), key=lambda n: (abs(n - len(hypothesis)), n))
    return np.array([hyp_len, ref_len, *matches, *totals], dtype=np.int64)


def bleu_statistics(hypotheses, references, max_order: int = 4) -> np.ndarray:
    """The counts BLEU is computed from, as int64 ``[hyp_len, ref_len, matches_1..N,
    totals_1..N]`` (N = ``max_order``): the statistics of two corpora add up to those of the
    two together, so batches are scored by summing these and calling
    :func:`bleu_from_statistics` once. Arguments as :func:`corpus_bleu`'s."""
    return _statistics("bleu_statistics", hypotheses, references, max_order)


def _score(stats: np.ndarray, smooth: bool, effective_order: bool) -> float:
    """sacrebleu's ``BLEU.compute_bleu`` (smooth_method "none" or "exp"), operation for
    operation, so that scores agree to the last bits rather than merely to a tolerance."""
    hyp_len, ref_len = int(stats[0]), int(stats[1])
    max_order = (len(stats) - 2) // 2
    matches = [int(m) for m in stats[2:2 + max_order]]
    totals = [int(t) for t in stats[2 + max_order:]]
    if hyp_len == 0 or not any(matches):
        return 0.0
    brevity = math.exp(1 - ref_len / hyp_len) if hyp_len < ref_len else 1.0
    log_sum, orders, smoothing = 0.0, 0, 1.0
    for match, total in zip(matches, totals):
        if total == 0:  # too short for n-grams this long: a zero precision, or not counted
            if not effective_order:
                return 0.0
            break
        if match:
            precision = 100.0 * match / total
        elif smooth:  # mteval's smoothing: 1/2, 1/4, ... of a match for each empty order
            smoothing *= 2
            precision = 100.0 / (smoothing * total)
        else:
            return 0.0
        log_sum += math.log(precision)
        orders += 1
    return brevity * math.exp(log_sum / (orders if effective_order else max_order))


def bleu_from_statistics(statistics, smooth: bool = False) -> float:
    """Corpus BLEU (0-100) from :func:`bleu_statistics` (or a sum of them); ``smooth`` as in
    :func:`corpus_bleu`."""
    stats = np.asarray(statistics)
    if (stats.ndim != 1 or len(stats) < 4 or len(stats) % 2 or stats.dtype.kind not in "iu"
            or (stats < 0).any()):
        raise ValueError(f"bleu_from_statistics: statistics must be the non-negative integer "
                         f"counts [hyp_len, ref_len, matches_1..N, totals_1..N] that "
                         f"bleu_statistics returns, got shape {stats.shape} of {stats.dtype}")
    return _score(stats, bool(smooth), effective_order=False)


def corpus_bleu(hypotheses, references, max_order: int = 4, smooth: bool = False) -> float:
    """Corpus BLEU in 0-100, as sacrebleu computes it with ``tokenize="none"``.

    ``hypotheses``: one token list (str or int tokens) per sentence. ``references``: per
    sentence, one token list or a list of several token lists (an n-gram matches as often as
    the reference that has it most; the brevity penalty uses the reference length closest to
    the hypothesis's, the shorter on a tie). Clipped n-gram precisions for n = 1..max_order
    are pooled over the corpus, their geometric mean taken and multiplied by the brevity
    penalty exp(1 - r/c) when the hypotheses are shorter (c tokens) than the references (r).

    A precision of zero makes BLEU zero, as does a corpus with no n-grams of some order
    (every hypothesis shorter than ``max_order``). ``smooth=True`` is sacrebleu's (and
    mteval's) "exp" smoothing, for small corpora: the k-th order without a match counts as
    1/2**k of a match instead; it cannot rescue a missing order, nor a corpus with no match.
    """
    stats = _statistics("corpus_bleu", hypotheses, references, max_order)
    return _score(stats, bool(smooth), effective_order=False)


def sentence_bleu(hypothesis, references, max_order: int = 4, smooth: bool = True) -> float:
    """BLEU (0-100) of one hypothesis against its reference (a token list) or references (a
    list of token lists), as ``sacrebleu.sentence_bleu`` with ``tokenize="none"`` scores it.

    It is the one-sentence corpus, with two differences that make a single sentence scorable:
    smoothing is on by default, and orders longer than the hypothesis are left out of the
    geometric mean (sacrebleu's effective order) instead of zeroing it — otherwise every
    sentence shorter than ``max_order`` would score 0. BLEU is a corpus metric: the mean of
    sentence scores is not the corpus score.
    """
    stats = _statistics("sentence_bleu", [hypothesis], [references], max_order, single=True)
    return _score(stats, bool(smooth), effective_order=True)


def classifier_score(probabilities) -> float:
    """``exp(mean_i KL(p(y|x_i) ‖ p(y)))`` of a classifier's class probabilities (N, K) on N
    images, p(y) their mean: high when each image is confidently one class (sharp p(y|x)) and
    the images cover the classes (flat p(y)). It runs from 1 (every prediction the same) to K
    (confident, all classes equally often). Computed in float64; 0 · log 0 counts as 0."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"classifier_score: probabilities must be (N, K) with N >= 1 and "
                         f"K >= 2 classes, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or not np.allclose(p.sum(axis=1), 1, atol=1e-4):
        raise ValueError("classifier_score: each row must be a probability distribution "
                         "(finite, >= 0, summing to 1); pass softmax outputs, not logits")
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(math.exp(terms.sum(axis=1).mean()))
