"""Decoding (dlcore.decoding): greedy, temperature and top-k sampling, beam search, on a
bigram table whose answers can be enumerated and on a recurrent language model."""
import itertools

import numpy as np
import pytest

from dlcore import decoding
from dlcore.models.language import rnn_lm


class Bigram:
    """A stepper over a fixed table: the next token's log-probabilities depend on the last."""

    def __init__(self, table):
        self.log_probs = decoding.log_softmax(table)

    def start(self, prompt):
        return self.log_probs[prompt[:, -1]], None

    def step(self, tokens, state):
        return self.log_probs[tokens], state

    def select(self, state, rows):
        return state


def _table(vocab=4, seed=0):
    return np.random.default_rng(seed).normal(0, 2, (vocab, vocab))


def _brute_force(bigram, first, length, eos, alpha):
    """The best normalised score over every continuation (ending at <eos> or at length)."""
    best = -np.inf
    for n in range(1, length + 1):
        for tokens in itertools.product(range(len(bigram.log_probs)), repeat=n):
            if eos in tokens[:-1] or (n < length and tokens[-1] != eos):
                continue
            previous = (first, *tokens[:-1])
            log_prob = sum(bigram.log_probs[a, b] for a, b in zip(previous, tokens))
            best = max(best, log_prob / n ** alpha)
    return best


@pytest.mark.parametrize("eos, alpha", [(None, 0.75), (2, 0.75), (2, 1.0), (1, 0.0)])
def test_an_unpruned_beam_finds_the_best_normalised_continuation(eos, alpha):
    bigram = Bigram(_table())
    found = decoding.beam_search(bigram, [[3]], max_length=4, beam_size=256, eos_id=eos,
                                 alpha=alpha)
    assert found[0].score == pytest.approx(_brute_force(bigram, 3, 4, eos, alpha))
    assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
    for hypothesis in found:
        previous = (3, *hypothesis.tokens[:-1])
        assert hypothesis.log_prob == pytest.approx(
            sum(bigram.log_probs[a, b] for a, b in zip(previous, hypothesis.tokens)))
        assert hypothesis.finished == (eos is not None and hypothesis.tokens[-1] == eos)


@pytest.mark.parametrize("seed", range(5))
def test_beam_of_one_is_greedy(seed):
    bigram, eos = Bigram(_table(6, seed)), 0
    greedy = decoding.sample(bigram, [[1]], max_length=12, temperature=0, eos_id=eos)[0]
    [best] = decoding.beam_search(bigram, [[1]], max_length=12, beam_size=1, eos_id=eos)
    assert list(best.tokens) == greedy


def test_sampling_follows_the_tempered_and_truncated_distribution():
    table = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4))
    bigram, rng, n = Bigram(table), np.random.default_rng(0), 40_000
    drawn = np.array(decoding.sample(bigram, np.zeros((n, 1), np.int64), 1, 1.0, rng=rng))
    np.testing.assert_allclose(np.bincount(drawn[:, 0], minlength=4) / n,
                               [0.5, 0.3, 0.15, 0.05], atol=0.01)
    hot = np.array(decoding.sample(bigram, np.zeros((n, 1), np.int64), 1, 2.0, top_k=2,
                                   rng=rng))
    p = np.sqrt([0.5, 0.3])  # temperature 2, then only the two most probable
    np.testing.assert_allclose(np.bincount(hot[:, 0], minlength=4) / n,
                               [*(p / p.sum()), 0, 0], atol=0.01)
    greedy = decoding.sample(bigram, [[0]], 3, temperature=0)
    assert greedy == [[0, 0, 0]] == decoding.sample(bigram, [[0]], 3, top_k=1, rng=rng)


def test_rows_stop_at_eos_and_bad_options_are_named():
    table = np.full((3, 3), -10.0)
    table[0, 1] = table[1, 2] = table[2, 2] = 0.0  # 0 -> 1 -> 2 (eos)
    bigram = Bigram(table)
    assert decoding.sample(bigram, [[0], [1]], 5, temperature=0, eos_id=2) == [[1, 2], [2]]
    for options, match in [({"temperature": -1}, "temperature must be >= 0"),
                           ({"top_k": -1}, "top_k must be an integer >= 0"),
                           ({"max_length": 0}, "max_length must be a positive")]:
        with pytest.raises(ValueError, match=match):
            decoding.sample(bigram, [[0]], **{"max_length": 3, **options})
    with pytest.raises(ValueError, match="prompt must be token ids of shape"):
        decoding.sample(bigram, [0, 1], 3)
    with pytest.raises(ValueError, match="one prompt at a time"):
        decoding.beam_search(bigram, [[0], [1]], 3)
    with pytest.raises(TypeError, match="has no forward_with_state"):
        decoding.ModelStepper(object())


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_language_model_decodes_step_by_step_as_it_reads_whole_sequences(cell):
    model = rnn_lm(vocab_size=7, embedding_dim=5, hidden_size=8, num_layers=2, cell=cell)
    model.eval()
    stepper, prompt = decoding.ModelStepper(model), np.array([[3, 1, 4]])
    greedy = decoding.sample(stepper, prompt, 6, temperature=0)[0]
    # each greedy token is the argmax of the whole sequence so far, read in one pass
    sequence = list(prompt[0])
    for token in greedy:
        logits = model(decoding.Tensor(np.array([sequence]))).data[0, -1]
        assert token == int(logits.argmax())
        sequence.append(token)
    [best] = decoding.beam_search(stepper, prompt, 6, beam_size=1)
    assert list(best.tokens) == greedy
    beams = decoding.beam_search(stepper, prompt, 6, beam_size=4)
    assert len(beams) == 4 and len({h.tokens for h in beams}) == 4
    assert [h.score for h in beams] == sorted((h.score for h in beams), reverse=True)
