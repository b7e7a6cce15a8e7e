"""BLEU (dlcore.metrics): hand-computed edge cases, the argument errors, and agreement with
sacrebleu (tokenize="none") on written sentences and on random token corpora."""
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.metrics import bleu_from_statistics, bleu_statistics, corpus_bleu, sentence_bleu

REF = "in the beginning the word was spoken and the deep answered".split()


# --- edge cases, computed by hand -------------------------------------------------------------

def test_perfect_match_is_100():
    assert corpus_bleu([REF, REF[:5]], [REF, REF[:5]]) == pytest.approx(100.0, rel=1e-12)
    assert sentence_bleu(REF, REF) == pytest.approx(100.0, rel=1e-12)


def test_ids_tuples_and_arrays_score_like_strings():
    ids = {word: i for i, word in enumerate(sorted(set(REF)))}
    hyp, ref = REF[:7] + ["and"], REF
    expected = corpus_bleu([hyp], [ref])
    assert corpus_bleu([[ids[w] for w in hyp]], [[ids[w] for w in ref]]) == expected
    assert corpus_bleu((tuple(hyp),), (tuple(ref),)) == expected
    assert corpus_bleu(np.array([[ids[w] for w in hyp]]),
                       np.array([[ids[w] for w in ref]])) == expected


def test_empty_hypotheses_score_0():
    assert corpus_bleu([], []) == 0.0
    assert corpus_bleu([[]], [REF]) == 0.0
    assert corpus_bleu([[], []], [REF, REF], smooth=True) == 0.0
    assert sentence_bleu([], REF) == 0.0


def test_no_match_scores_0_even_smoothed():
    assert corpus_bleu([["x", "y", "z", "w"]], [REF], smooth=True) == 0.0


def test_short_hypothesis():
    """Shorter than max_order: no 4-grams, so a zero 4-gram precision — 0 whether smoothed or
    not (smoothing fills orders without a match, not orders without n-grams, as sacrebleu).
    sentence_bleu leaves the missing order out: then only smoothing rescues the unmatched
    trigram."""
    hyp, ref = "a dog ran".split(), "the dog ran away".split()
    assert corpus_bleu([hyp], [ref]) == 0.0
    assert corpus_bleu([hyp], [ref], smooth=True) == 0.0
    assert sentence_bleu(hyp, ref, smooth=False) == 0.0
    # p1 = 2/3, p2 = 1/2, p3 = 0/1 -> 1/2 of a match: (2/3 * 1/2 * 1/2) ** (1/3), bp e^(1-4/3)
    expected = 100 * (1 / 6) ** (1 / 3) * math.exp(1 - 4 / 3)
    assert sentence_bleu(hyp, ref) == pytest.approx(expected, rel=1e-12)
    # matched at every order it has: the effective order makes it 100 but for its brevity
    assert sentence_bleu(ref[:3], ref, smooth=False) == pytest.approx(
        100 * math.exp(1 - 4 / 3), rel=1e-12)


def test_exp_smoothing_by_hand():
    # p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 -> 1/2: BLEU = 100 * (1/8) ** (1/4), no penalty
    hyp, ref = "a b c d".split(), "a b c x".split()
    assert corpus_bleu([hyp], [ref]) == 0.0
    assert corpus_bleu([hyp], [ref], smooth=True) == pytest.approx(100 * 2 ** -0.75, rel=1e-12)
    # two orders without a match: p3 -> 1/(2 * 2) of 2 trigrams, p4 -> 1/(4 * 1) of 1
    hyp, ref = "a b x c d".split(), "a b y c d".split()
    expected = 100 * (4 / 5 * 2 / 4 * (1 / 2 / 3) * (1 / 4 / 2)) ** 0.25
    assert corpus_bleu([hyp], [ref], smooth=True) == pytest.approx(expected, rel=1e-12)


def test_brevity_penalty_by_hand():
    # every n-gram matches, c = 6 < r = 9: BLEU = 100 * exp(1 - 9/6)
    assert corpus_bleu([REF[:6]], [REF[:9]]) == pytest.approx(100 * math.exp(-0.5), rel=1e-12)
    # corpus-wide lengths: c = 6 + 3 = 9, r = 9 + 3 = 12 (each sentence still a perfect prefix)
    score = corpus_bleu([REF[:6], REF[:3]], [REF[:9], REF[:3]], max_order=3)
    assert score == pytest.approx(100 * math.exp(1 - 12 / 9), rel=1e-12)
    # a longer hypothesis is not penalised: p1 = 9/10, p2 = 8/9 (max_order 2)
    assert corpus_bleu([REF[:9] + ["amen"]], [REF[:9]], max_order=2) == pytest.approx(
        100 * math.sqrt(9 / 10 * 8 / 9), rel=1e-12)


def test_multiple_references():
    # clipped by the reference that has the n-gram most: "the" 4 times, at most twice
    hyp = ["the"] * 4
    refs = ["the cat".split(), "the the dog".split()]
    assert corpus_bleu([hyp], [refs], max_order=1) == pytest.approx(50.0, rel=1e-12)
    # the closest reference length, the shorter on a tie: 7 tokens between 6 and 8 -> r = 6
    hyp = REF[:7]
    assert corpus_bleu([hyp], [[REF[:6], REF[:8]]]) == pytest.approx(100.0, rel=1e-12)
    assert corpus_bleu([hyp], [[REF[:8]]]) == pytest.approx(100 * math.exp(1 - 8 / 7))
    # one reference given bare or in a list is the same
    assert corpus_bleu([hyp], [REF]) == corpus_bleu([hyp], [[REF]])
    # n-grams of every reference count
    assert corpus_bleu([REF[:4] + ["x", "y"]], [[REF[:4], ["x", "y"]]],
                       max_order=1) == pytest.approx(100.0, rel=1e-12)


def test_statistics_add_up():
    hyps = [REF[:6], REF[2:], "the word was the deep".split()]
    refs = [REF, [REF[:6], REF[1:]], REF]
    whole = bleu_statistics(hyps, refs)
    assert whole.dtype == np.int64 and whole.shape == (10,)
    parts = bleu_statistics(hyps[:1], refs[:1]) + bleu_statistics(hyps[1:], refs[1:])
    assert (parts == whole).all()
    assert bleu_from_statistics(parts) == corpus_bleu(hyps, refs)
    assert bleu_from_statistics(parts, smooth=True) == corpus_bleu(hyps, refs, smooth=True)
    assert bleu_statistics([], [], max_order=2).tolist() == [0] * 6


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: corpus_bleu([REF, REF], [REF]), r"differ in length \(2 vs 1\)"),
    (lambda: corpus_bleu([REF], [REF], max_order=0), "max_order must be a positive int"),
    (lambda: corpus_bleu([REF], [REF], max_order=2.0), "max_order must be a positive int"),
    (lambda: corpus_bleu(["in the beginning"], [REF]), "hypothesis 0 is a string.*split it"),
    (lambda: corpus_bleu([REF], ["in the beginning"]), "reference 0 is a string.*split it"),
    (lambda: corpus_bleu([REF], [[REF, "in the"]]), "reference 1 of hypothesis 0 is a string"),
    (lambda: corpus_bleu("in the beginning", [REF]), "hypotheses must be a sequence"),
    (lambda: corpus_bleu([[REF]], [REF]), "hypothesis 0 must be a sequence of tokens.*list"),
    (lambda: corpus_bleu([[1.5]], [REF]), "hypothesis 0 must be a sequence of tokens.*float"),
    (lambda: corpus_bleu([None], [REF]), "hypothesis 0 must be a sequence of tokens"),
    (lambda: sentence_bleu("in the beginning", REF), "the hypothesis is a string.*split it"),
    (lambda: bleu_from_statistics([1, 2, 3]), "statistics must be"),
    (lambda: bleu_from_statistics([1.0, 2, 3, 4]), "statistics must be"),
    (lambda: bleu_from_statistics([1, -2, 3, 4]), "statistics must be"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)


# --- against sacrebleu -----------------------------------------------------------------------

VERSES = """\
and the river ran down from the hills in the morning of the year
the watchman stood upon the wall and cried that the night was far spent
blessed is the field that drinketh the rain and bringeth forth bread
a soft answer turneth away the storm but a hard word stirreth the fire
the sparrow hath found a house and the swallow a nest for her young
in the valley of the shadow the shepherd kept his flock by night
and the king sent messengers unto the city saying open the gates
the grass withereth and the flower fadeth but the word abideth
he that keepeth the vineyard shall eat of the fruit thereof
they went up by the way of the wilderness and came unto the well
the heavens were opened and a voice was heard as the sound of many waters
and she rose early and drew water and gave the camels to drink
the stone which the builders refused is become the head of the corner
let the sea roar and the fulness thereof the world and they that dwell therein
for everything there is a season and a time to every purpose under heaven
the elders sat in the gate and judged the people with a right judgment
and the lamp of the house burned until the dawn came over the mountains
he gathered the waters of the sea together as an heap
my beloved spake and said unto me rise up and come away
the fig tree putteth forth her green figs and the vines give a good smell
and the people murmured against the prophet because there was no water
thou hast set my feet in a large room and made my path straight
the wicked flee when no man pursueth but the righteous are bold as a lion
as the hart panteth after the water brooks so longeth the heart for rest
and the men of the city came out to meet them with timbrels and with dances
a good name is rather to be chosen than great riches
the eye is not satisfied with seeing nor the ear filled with hearing
and he lifted up his eyes and looked and behold a ram caught in a thicket
the night is far spent the day is at hand
in the multitude of counsellors there is safety""".splitlines()

SUBSTITUTES = "the a and of lord land water light house city night day".split()


def _perturb(words, rng):
    """A system's output: the verse with a few words dropped, swapped or replaced."""
    words = list(words)
    for _ in range(rng.randint(0, 4)):
        edit, i = rng.choice(["drop", "swap", "sub"]), rng.randrange(len(words))
        if edit == "drop" and len(words) > 1:
            del words[i]
        elif edit == "swap" and i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
        else:
            words[i] = rng.choice(SUBSTITUTES)
    return words


def _verse_corpus(seed):
    rng = random.Random(seed)
    refs = [verse.split() for verse in VERSES]
    hyps = [_perturb(ref, rng) for ref in refs]
    hyps += [ref[:rng.randint(0, 5)] for ref in refs[:4]]  # short (and one empty) outputs
    refs += refs[:4]
    second = [_perturb(ref, rng) for ref in refs]  # a second, paraphrased reference
    return hyps, refs, second


def _sacre(hyps, ref_streams, smooth=False, max_order=4):
    """sacrebleu's corpus BLEU of token lists; ref_streams are sacrebleu's reference streams
    (a missing reference is None)."""
    from sacrebleu.metrics import BLEU
    bleu = BLEU(tokenize="none", force=True, smooth_method="exp" if smooth else "none",
                max_ngram_order=max_order)
    join = lambda tokens: None if tokens is None else " ".join(map(str, tokens))  # noqa: E731
    return bleu.corpus_score([join(h) for h in hyps],
                             [[join(r) for r in stream] for stream in ref_streams]).score


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("smooth", [False, True])
def test_verses_match_sacrebleu(seed, smooth):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs, second = _verse_corpus(seed)
    join = lambda lines: [" ".join(tokens) for tokens in lines]  # noqa: E731
    expected = sacrebleu.corpus_bleu(join(hyps), [join(refs)], tokenize="none", force=True,
                                     smooth_method="exp" if smooth else "none").score
    assert 0 < expected < 100
    assert corpus_bleu(hyps, refs, smooth=smooth) == pytest.approx(expected, rel=1e-9)
    expected = sacrebleu.corpus_bleu(join(hyps), [join(refs), join(second)], tokenize="none",
                                     force=True, smooth_method="exp" if smooth else "none").score
    assert corpus_bleu(hyps, [[r, s] for r, s in zip(refs, second)],
                       smooth=smooth) == pytest.approx(expected, rel=1e-9)
    for max_order in (1, 2, 6):
        assert corpus_bleu(hyps, refs, max_order=max_order, smooth=smooth) == pytest.approx(
            _sacre(hyps, [refs], smooth, max_order), rel=1e-9)


@pytest.mark.parametrize("smooth", [False, True])
def test_verse_sentences_match_sacrebleu(smooth):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs, second = _verse_corpus(3)
    for hyp, ref, other in zip(hyps, refs, second):
        expected = sacrebleu.sentence_bleu(" ".join(hyp), [" ".join(ref), " ".join(other)],
                                           tokenize="none",
                                           smooth_method="exp" if smooth else "none").score
        assert sentence_bleu(hyp, [ref, other], smooth=smooth) == pytest.approx(expected,
                                                                               rel=1e-9)


# random corpora: a few common words (so that n-grams match) and odd whitespace-free strings
WORDS = st.sampled_from("the a and of land water light".split())
ODD = st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=3)


def _corpora(tokens):
    sentence = st.lists(tokens, max_size=12)
    pair = st.tuples(sentence, st.lists(sentence, min_size=1, max_size=3))
    return st.lists(pair, min_size=1, max_size=8)


@settings(max_examples=150)
@given(corpus=_corpora(st.one_of(WORDS, WORDS, ODD)) | _corpora(st.integers(0, 5)),
       smooth=st.booleans(), max_order=st.integers(1, 5))
def test_random_corpora_match_sacrebleu(corpus, smooth, max_order):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = [hyp for hyp, _ in corpus]
    refs = [refs if len(refs) > 1 else refs[0] for _, refs in corpus]  # bare when only one
    # sacrebleu's streams: the k-th reference of every sentence, None where it has fewer
    streams = [[refs[k] if k < len(refs) else None for _, refs in corpus]
               for k in range(max(len(refs) for _, refs in corpus))]
    score = corpus_bleu(hyps, refs, max_order=max_order, smooth=smooth)
    assert score == pytest.approx(_sacre(hyps, streams, smooth, max_order), rel=1e-9)
    join = lambda tokens: None if tokens is None else " ".join(map(str, tokens))  # noqa: E731
    if max_order == 4:  # and through sacrebleu's one-call API
        expected = sacrebleu.corpus_bleu([join(h) for h in hyps],
                                         [[join(r) for r in stream] for stream in streams],
                                         tokenize="none", force=True,
                                         smooth_method="exp" if smooth else "none").score
        assert score == pytest.approx(expected, rel=1e-9)
    hyp, refs0 = corpus[0]
    sentence = sacrebleu.metrics.BLEU(tokenize="none", smooth_method="exp" if smooth else "none",
                                      max_ngram_order=max_order, effective_order=True)
    expected = sentence.sentence_score(join(hyp), [join(r) for r in refs0]).score
    assert sentence_bleu(hyp, refs0, max_order=max_order, smooth=smooth) == pytest.approx(
        expected, rel=1e-9)
