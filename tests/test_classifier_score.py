"""classifier_score: its limits (1 for identical predictions, K for confident balanced ones),
agreement with the definition written out, bounds on drawn inputs, and its errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.metrics import classifier_score


def test_identical_predictions_score_one_and_confident_balanced_ones_score_k():
    assert classifier_score(np.full((7, 3), 1 / 3)) == pytest.approx(1.0)
    assert classifier_score(np.tile([0.2, 0.8], (5, 1))) == pytest.approx(1.0)
    assert classifier_score(np.eye(10)) == pytest.approx(10.0)
    assert classifier_score(np.repeat(np.eye(4), 3, axis=0)) == pytest.approx(4.0)


def test_collapse_to_fewer_classes_lowers_the_score():
    """Mode collapse: confident images of only 5 of 10 classes score 5, not 10."""
    assert classifier_score(np.eye(10)[np.arange(20) % 5]) == pytest.approx(5.0)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 9), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_matches_the_definition_and_stays_within_one_and_k(n, k, seed):
    p = np.random.default_rng(seed).dirichlet(np.full(k, 0.5), size=n)
    marginal = p.mean(axis=0)
    kl = [sum(pi * math.log(pi / m) for pi, m in zip(row, marginal) if pi > 0) for row in p]
    score = classifier_score(p)
    assert score == pytest.approx(math.exp(np.mean(kl)), rel=1e-9)
    assert 1 - 1e-9 <= score <= k + 1e-9
    assert classifier_score(p[::-1]) == pytest.approx(score)  # order of images is irrelevant


@pytest.mark.parametrize("bad, match", [
    (np.ones(4) / 4, "must be \\(N, K\\)"),
    (np.ones((3, 1)), "K >= 2"),
    (np.array([[0.5, 0.6]]), "summing to 1"),
    (np.array([[2.0, -1.0]]), "probability distribution"),
    (np.array([[np.nan, 1.0]]), "softmax outputs, not logits"),
])
def test_bad_input_gets_a_one_line_error(bad, match):
    with pytest.raises(ValueError, match=match):
        classifier_score(bad)
