"""Loss modules: the functional losses with their options bound, checked on known values."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import nn


def test_cross_entropy_of_uniform_logits_is_ln_10():
    loss = nn.CrossEntropyLoss()(dlcore.zeros(4, 10), dlcore.tensor([0, 3, 9, 2]))
    assert loss.item() == pytest.approx(math.log(10), rel=1e-6)


def test_cross_entropy_equals_nll_of_log_softmax():
    logits, target = dlcore.randn(5, 4), dlcore.tensor([0, 1, 2, 3, 1])
    ce = nn.CrossEntropyLoss(reduction="none")(logits, target)
    nll = nn.NLLLoss(reduction="none")(nn.LogSoftmax(dim=1)(logits), target)
    np.testing.assert_allclose(ce.data, nll.data, rtol=1e-5)


def test_cross_entropy_options():
    logits, target = dlcore.randn(4, 3), dlcore.tensor([0, -100, 2, 1])
    kept = nn.CrossEntropyLoss(reduction="none")(logits[[0, 2, 3]], dlcore.tensor([0, 2, 1]))
    ignored = nn.CrossEntropyLoss(ignore_index=-100)(logits, target)
    assert ignored.item() == pytest.approx(kept.data.mean(), rel=1e-5)
    smoothed = nn.CrossEntropyLoss(label_smoothing=1.0)(logits, dlcore.tensor([0, 1, 2, 1]))
    uniform = -nn.LogSoftmax(dim=1)(logits).data.mean()
    assert smoothed.item() == pytest.approx(uniform, rel=1e-5)


def test_regression_losses():
    a, b = dlcore.tensor([1.0, 2.0, 4.0]), dlcore.tensor([0.0, 2.0, 2.0])
    assert nn.MSELoss()(a, b).item() == pytest.approx(5 / 3)
    assert nn.MSELoss(reduction="sum")(a, b).item() == pytest.approx(5)
    assert nn.L1Loss()(a, b).item() == pytest.approx(1)


def test_binary_cross_entropy_from_probabilities_and_logits_agree():
    logits, target = dlcore.randn(6), dlcore.tensor([0.0, 1, 1, 0, 1, 0])
    probabilities = nn.Sigmoid()(logits)
    expected = -np.mean(target.data * np.log(probabilities.data)
                        + (1 - target.data) * np.log(1 - probabilities.data))
    assert nn.BCELoss()(probabilities, target).item() == pytest.approx(expected, rel=1e-5)
    assert nn.BCEWithLogitsLoss()(logits, target).item() == pytest.approx(expected, rel=1e-5)


def test_kl_divergence_is_zero_for_equal_distributions_and_positive_otherwise():
    p = nn.Softmax(dim=1)(dlcore.randn(3, 5))
    q = nn.Softmax(dim=1)(dlcore.randn(3, 5))
    kl = nn.KLDivLoss(reduction="batchmean")
    assert kl(p.log(), p).item() == pytest.approx(0, abs=1e-6)
    assert kl(q.log(), p).item() > 0


def test_reduction_is_checked_and_options_are_keyword_only():
    with pytest.raises(ValueError, match=r"MSELoss expects reduction in \('mean', 'sum', "
                                         r"'none'\), got 'batchmean'"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(None)
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
