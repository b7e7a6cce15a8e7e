"""Loss modules: the functional losses with their options bound, checked on known values."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn import functional as F


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


def test_bce_weights_are_buffers_not_parameters():
    loss = nn.BCEWithLogitsLoss([1.0, 2.0], pos_weight=np.array([3.0, 0.5], dtype=np.float32))
    assert list(loss.parameters()) == []
    assert list(loss.state_dict()) == ["weight", "pos_weight"]
    assert loss.weight.dtype == np.float32 and loss.to(np.float64).pos_weight.dtype == np.float64
    assert list(nn.BCELoss().state_dict()) == [] and nn.BCELoss().weight is None
    logits, target = dlcore.randn(4, 2), dlcore.tensor([[0.0, 1], [1, 1], [0, 0], [1, 0]])
    expected = F.binary_cross_entropy_with_logits(
        logits, target, dlcore.tensor([1.0, 2.0]), pos_weight=dlcore.tensor([3.0, 0.5]))
    assert loss(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)


def test_weighted_bce_modules_agree_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 3)).astype(np.float32)
    target = rng.integers(0, 2, (5, 3)).astype(np.float32)
    weight, pos_weight = rng.uniform(0.5, 2, (5, 1)), rng.uniform(0.5, 4, 3)
    probabilities = 1 / (1 + np.exp(-logits))
    pairs = [(nn.BCELoss(weight, reduction="sum"), torch.nn.BCELoss(torch.tensor(weight),
                                                                    reduction="sum"),
              probabilities),
             (nn.BCEWithLogitsLoss(weight, pos_weight=pos_weight),
              torch.nn.BCEWithLogitsLoss(torch.tensor(weight),
                                         pos_weight=torch.tensor(pos_weight)), logits)]
    for ours, theirs, x in pairs:
        assert ours(dlcore.tensor(x), dlcore.tensor(target)).item() == pytest.approx(
            theirs(torch.tensor(x), torch.tensor(target)).item(), rel=1e-5), type(ours).__name__


def test_gaussian_nll_loss_module_agrees_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    mean, target = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    for var in (rng.uniform(0.1, 2, (2, 4, 3)), rng.uniform(0.1, 2, (2, 4)),
                rng.uniform(0.1, 2, (2, 1, 3))):
        for options in ({}, {"full": True, "eps": 0.5, "reduction": "sum"}):
            ours = nn.GaussianNLLLoss(**options)(*(dlcore.tensor(a, dtype=np.float64)
                                                   for a in (mean, target, var)))
            theirs = torch.nn.GaussianNLLLoss(**options)(*map(torch.tensor, (mean, target, var)))
            assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


def test_gaussian_nll_loss_options():
    loss = nn.GaussianNLLLoss(full=True, reduction="none")
    assert repr(loss) == "GaussianNLLLoss(full=True, eps=1e-06, reduction='none')"
    out = loss(dlcore.zeros(3), dlcore.ones(3), dlcore.ones(3))
    np.testing.assert_allclose(out.data, 0.5 * math.log(2 * math.pi) + 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match=r"GaussianNLLLoss: eps must be in \[0, inf\]"):
        nn.GaussianNLLLoss(eps=-1.0)
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)
