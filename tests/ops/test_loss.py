"""Losses: the notes' facts, agreement between equivalent forms, and gradients."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn, seeds


def class_ids(n, classes, seed):
    return dlcore.tensor(np.random.default_rng(seed).integers(0, classes, n))


class TestCrossEntropy:
    def test_ten_classes_with_zero_logits_cost_ln_10(self):
        loss = F.cross_entropy(dlcore.zeros(4, 10), dlcore.tensor([0, 3, 9, 5]))
        assert loss.item() == pytest.approx(math.log(10), rel=1e-6)

    def test_gradient_is_softmax_minus_one_hot_over_n(self):
        logits = dlcore.randn(5, 4, requires_grad=True)
        target = dlcore.tensor([0, 1, 3, 3, 2])
        F.cross_entropy(logits, target).backward()
        expected = (F.softmax(logits, 1).data - F.one_hot(target, 4).data) / 5
        np.testing.assert_allclose(logits.grad, expected, atol=1e-6)

    def test_equals_nll_of_log_softmax_and_minus_z_c_plus_logsumexp(self):
        z, target = randn((6, 5), 0), class_ids(6, 5, 0)
        ce = F.cross_entropy(z, target, reduction="none").data
        nll = F.nll_loss(F.log_softmax(z, 1), target, reduction="none").data
        np.testing.assert_allclose(ce, nll)
        rows = np.arange(6)
        np.testing.assert_allclose(ce, -z.data[rows, target.data] + z.logsumexp(1).data)

    def test_ignore_index_skips_entries_in_the_mean(self):
        z, target = randn((4, 3), 1), dlcore.tensor([0, -100, 2, -100])
        loss = F.cross_entropy(z, target)
        kept = F.cross_entropy(z[[0, 2]], dlcore.tensor([0, 2]))
        assert loss.item() == pytest.approx(kept.item())
        relabelled = F.cross_entropy(z, dlcore.tensor([0, 5, 2, 5]), ignore_index=5)
        assert relabelled.item() == pytest.approx(kept.item())

    def test_class_probabilities_agree_with_class_ids_and_label_smoothing(self):
        z, target = randn((5, 4), 2), class_ids(5, 4, 2)
        one_hot = F.one_hot(target, 4).double()
        for smoothing in (0.0, 0.2):
            ids = F.cross_entropy(z, target, label_smoothing=smoothing)
            probs = F.cross_entropy(z, one_hot, label_smoothing=smoothing)
            assert ids.item() == pytest.approx(probs.item(), rel=1e-10)

    def test_spatial_inputs_move_classes_last(self):
        z, target = randn((2, 3, 4, 5), 3), class_ids((2, 4, 5), 3, 3)
        flat = F.cross_entropy(z.permute(0, 2, 3, 1).reshape(-1, 3), target.reshape(-1),
                               reduction="none")
        per_pixel = F.cross_entropy(z, target, reduction="none")
        assert per_pixel.shape == (2, 4, 5)
        np.testing.assert_allclose(per_pixel.data.reshape(-1), flat.data)
        assert F.cross_entropy(z, target).item() == pytest.approx(flat.data.mean())

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    @given(n=st.sampled_from([1, 3, 7]), classes=st.sampled_from([2, 5]),
           smoothing=st.sampled_from([0.0, 0.1]), seed=seeds)
    def test_gradients(self, reduction, n, classes, smoothing, seed):
        z, target = randn((n, classes), seed), class_ids(n, classes, seed)
        probs = F.softmax(randn((n, classes), seed + 1, requires_grad=False), 1)
        args = dict(reduction=reduction, label_smoothing=smoothing)
        assert gradcheck(lambda t: F.cross_entropy(t, target, **args), z)
        assert gradcheck(lambda t: F.cross_entropy(t, probs, **args), z)
        spatial, spatial_target = randn((n, classes, 3), seed), class_ids((n, 3), classes, seed)
        assert gradcheck(lambda t: F.cross_entropy(t, spatial_target, **args), spatial)

    def test_errors(self):
        z = dlcore.zeros(3, 4)
        with pytest.raises(ValueError, match=r"needs target of shape \(3,\), got \(4,\)"):
            F.cross_entropy(z, dlcore.tensor([0, 1, 2, 3]))
        with pytest.raises(TypeError, match="integer class ids"):
            F.cross_entropy(z, dlcore.zeros(3))
        with pytest.raises(ValueError, match="reduction"):
            F.cross_entropy(z, dlcore.tensor([0, 1, 2]), reduction="avg")


class TestNllLoss:
    def test_picks_minus_log_probability_and_ignores(self):
        logp = dlcore.tensor([[-1.0, -2.0], [-0.5, -3.0]])
        assert F.nll_loss(logp, dlcore.tensor([1, 0])).item() == pytest.approx(1.25)
        assert F.nll_loss(logp, dlcore.tensor([1, -100])).item() == pytest.approx(2.0)

    @given(seed=seeds)
    def test_gradient(self, seed):
        target = dlcore.tensor([0, 2, 1, -100, 2])
        for reduction in ("mean", "sum", "none"):
            assert gradcheck(lambda t: F.nll_loss(t, target, reduction=reduction),
                             randn((5, 3), seed))


class TestRegression:
    def test_mse_and_l1(self):
        pred, target = dlcore.tensor([1.0, 2.0, 4.0]), dlcore.tensor([1.0, 0.0, 1.0])
        assert F.mse_loss(pred, target).item() == pytest.approx(13 / 3)
        assert F.l1_loss(pred, target, reduction="sum").item() == 5.0

    @given(seed=seeds)
    def test_gradients(self, seed):
        a, b = randn((3, 4), seed), randn((3, 4), seed + 1)
        assert gradcheck(F.mse_loss, a, b) and gradcheck(F.l1_loss, a, b)

    def test_shape_mismatch_is_refused(self):
        with pytest.raises(ValueError, match=r"\(3,\) and target of shape \(3, 1\)"):
            F.mse_loss(dlcore.zeros(3), dlcore.zeros(3, 1))


class TestBinary:
    def test_bce_matches_the_formula_and_the_logit_version(self):
        x = randn((6,), 0, requires_grad=False)
        y = dlcore.tensor([0, 1, 1, 0, 1, 0.5], dtype=np.float64)
        p = F.sigmoid(x).data
        expected = -(y.data * np.log(p) + (1 - y.data) * np.log(1 - p)).mean()
        assert F.binary_cross_entropy(F.sigmoid(x), y).item() == pytest.approx(expected)
        assert F.binary_cross_entropy_with_logits(x, y).item() == pytest.approx(expected)

    def test_bce_is_finite_at_certain_predictions(self):
        loss = F.binary_cross_entropy(dlcore.tensor([0.0, 1.0]), dlcore.tensor([1.0, 0.0]))
        assert loss.item() == pytest.approx(100.0)

    def test_logit_version_is_stable_for_large_logits(self):
        loss = F.binary_cross_entropy_with_logits(dlcore.tensor([1000.0, -1000.0]),
                                                  dlcore.tensor([1.0, 0.0]))
        assert loss.item() == 0.0

    @given(seed=seeds)
    def test_gradients(self, seed):
        p = dlcore.tensor(np.random.default_rng(seed).uniform(0.1, 0.9, (3, 2)), dtype=np.float64,
                          requires_grad=True)
        y = dlcore.tensor(np.random.default_rng(seed + 1).uniform(0, 1, (3, 2)), dtype=np.float64,
                          requires_grad=True)
        assert gradcheck(F.binary_cross_entropy, p, y)
        assert gradcheck(F.binary_cross_entropy_with_logits, randn((3, 2), seed), y)

    def test_bce_refuses_logits(self):
        with pytest.raises(ValueError, match="probabilities"):
            F.binary_cross_entropy(dlcore.tensor([2.0]), dlcore.tensor([1.0]))


class TestKlDiv:
    def test_is_non_negative_zero_iff_equal_and_asymmetric(self):
        p = F.softmax(dlcore.randn(4, 5, dtype=np.float64), 1)
        q = F.softmax(dlcore.randn(4, 5, dtype=np.float64), 1)
        kl = lambda a, b: F.kl_div(a.log(), b, reduction="batchmean").item()  # KL(b ‖ a)
        assert kl(q, p) > 0 and kl(p, q) > 0 and kl(q, p) != pytest.approx(kl(p, q))
        assert kl(p, p) == pytest.approx(0.0, abs=1e-12)

    def test_cross_entropy_is_entropy_plus_kl(self):
        p = F.softmax(dlcore.randn(1, 6, dtype=np.float64), 1)
        logq = F.log_softmax(dlcore.randn(1, 6, dtype=np.float64), 1)
        entropy = -(p * p.log()).sum().item()
        assert F.cross_entropy(logq, p).item() == pytest.approx(
            entropy + F.kl_div(logq, p, reduction="sum").item())

    def test_zero_target_entries_contribute_nothing(self):
        loss = F.kl_div(dlcore.tensor([-1.0, -2.0]), dlcore.tensor([1.0, 0.0]), reduction="sum")
        assert loss.item() == 1.0

    @given(seed=seeds)
    def test_gradients(self, seed):
        logq = F.log_softmax(randn((3, 4), seed), 1).detach().requires_grad_()
        p = F.softmax(randn((3, 4), seed + 1), 1).detach().requires_grad_()
        for reduction in ("mean", "batchmean", "sum"):
            assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction), logq, p)
            assert gradcheck(
                lambda a, b: F.kl_div(a, b.log(), reduction=reduction, log_target=True), logq, p)
