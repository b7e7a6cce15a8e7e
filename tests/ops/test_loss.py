"""Losses: the notes' facts, agreement between equivalent forms, and gradients."""
import math
import re

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


def torch_agrees(ours, theirs, *arrays, differentiable=None):
    """Both losses on the same float64 arrays: equal values and equal gradients for the inputs
    marked ``differentiable`` (all by default), under one random cotangent."""
    torch = pytest.importorskip("torch")
    differentiable = differentiable or [True] * len(arrays)
    mine = [dlcore.tensor(a, dtype=np.float64, requires_grad=d)
            for a, d in zip(arrays, differentiable)]
    reference = [torch.tensor(a, dtype=torch.float64, requires_grad=d)
                 for a, d in zip(arrays, differentiable)]
    out, expected = ours(*mine), theirs(torch, *reference)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    for m, r in zip(mine, reference):
        if r.requires_grad:
            np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=1e-10, atol=1e-12)


def uniform(shape, seed, low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


WEIGHT_SHAPES = [(4, 3), (3,), (4, 1), ()]


class TestBinaryWeights:
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    @pytest.mark.parametrize("weight_shape", WEIGHT_SHAPES)
    def test_bce_weight_agrees_with_torch(self, reduction, weight_shape):
        weight = uniform(weight_shape, 1, 0.2, 2.0)
        torch_agrees(
            lambda p, y: F.binary_cross_entropy(p, y, dlcore.tensor(weight, dtype=np.float64),
                                                reduction),
            lambda torch, p, y: torch.nn.functional.binary_cross_entropy(
                p, y, torch.tensor(weight), reduction=reduction),
            uniform((4, 3), 2, 0.05, 0.95), uniform((4, 3), 3))

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    @pytest.mark.parametrize("weight_shape", [None, *WEIGHT_SHAPES])
    @pytest.mark.parametrize("pos_weight_shape", [None, (3,), (4, 3), ()])
    def test_logits_weight_and_pos_weight_agree_with_torch(self, reduction, weight_shape,
                                                         pos_weight_shape):
        weight = None if weight_shape is None else uniform(weight_shape, 1, 0.2, 2.0)
        pos_weight = None if pos_weight_shape is None else uniform(pos_weight_shape, 4, 0.2, 5.0)
        as_tensor = lambda lib, a: None if a is None else lib.tensor(a, dtype=lib.float64)
        x = 3 * np.random.default_rng(6).standard_normal((4, 3))
        torch_agrees(
            lambda x, y: F.binary_cross_entropy_with_logits(
                x, y, as_tensor(dlcore, weight), reduction, as_tensor(dlcore, pos_weight)),
            lambda torch, x, y: torch.nn.functional.binary_cross_entropy_with_logits(
                x, y, as_tensor(torch, weight), reduction=reduction,
                pos_weight=as_tensor(torch, pos_weight)),
            x, uniform((4, 3), 3))

    def test_pos_weight_multiplies_only_the_positive_term(self):
        x, pos_weight = randn((5, 3), 0, requires_grad=False), dlcore.tensor([1.0, 2.0, 7.0])
        for target in (dlcore.ones(5, 3), dlcore.zeros(5, 3)):
            weighted = F.binary_cross_entropy_with_logits(x, target, reduction="none",
                                                          pos_weight=pos_weight).data
            plain = F.binary_cross_entropy_with_logits(x, target, reduction="none").data
            scale = pos_weight.data if target.data[0, 0] == 1 else 1.0
            np.testing.assert_allclose(weighted, plain * scale, rtol=1e-6)

    def test_pos_weight_is_stable_for_logits_of_100(self):
        x = dlcore.tensor([100.0, -100.0, 100.0, -100.0], requires_grad=True)
        y = dlcore.tensor([1.0, 1.0, 0.0, 0.0])
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none",
                                                  pos_weight=dlcore.tensor([3.0]))
        np.testing.assert_allclose(loss.data, [0.0, 300.0, 100.0, 0.0], atol=1e-30)
        loss.sum().backward()
        np.testing.assert_allclose(x.grad, [0.0, -3.0, 1.0, 0.0], atol=1e-30)

    def test_no_weights_keep_the_unweighted_values_bit_for_bit(self):
        x = randn((4, 3), 7)
        y = dlcore.tensor(uniform((4, 3), 8), dtype=np.float64, requires_grad=True)
        ones = dlcore.ones(3, dtype=np.float64)
        for kwargs in ({}, {"weight": None, "pos_weight": None}):
            plain = F.binary_cross_entropy_with_logits(x, y, reduction="none", **kwargs)
            assert np.array_equal(plain.data, np.maximum(x.data, 0) - x.data * y.data
                                  + np.log1p(np.exp(-np.abs(x.data))))
        weighted = F.binary_cross_entropy_with_logits(x, y, ones, pos_weight=ones)
        assert weighted.item() == pytest.approx(F.binary_cross_entropy_with_logits(x, y).item(),
                                                rel=1e-14)

    @given(seed=seeds)
    def test_gradients(self, seed):
        x = randn((3, 2), seed)
        p = dlcore.tensor(uniform((3, 2), seed, 0.1, 0.9), dtype=np.float64, requires_grad=True)
        y = dlcore.tensor(uniform((3, 2), seed + 1), dtype=np.float64, requires_grad=True)
        weight = dlcore.tensor(uniform((2,), seed + 2, 0.5, 2), dtype=np.float64)
        pos_weight = dlcore.tensor(uniform((3, 1), seed + 3, 0.5, 4), dtype=np.float64)
        assert gradcheck(lambda p, y: F.binary_cross_entropy(p, y, weight), p, y)
        assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, weight, "sum", pos_weight), x, y)
        assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, reduction="none", pos_weight=pos_weight), x, y)

    def test_errors(self):
        x, y = dlcore.zeros(4, 3), dlcore.ones(4, 3)
        with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of "
                                             r"shape \(4,\) does not broadcast"):
            F.binary_cross_entropy_with_logits(x, y, pos_weight=dlcore.ones(4))
        with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(2, 1\)"):
            F.binary_cross_entropy(x + 0.5, y, dlcore.ones(2, 1))
        with pytest.raises(TypeError, match="pass reduction= by keyword"):
            F.binary_cross_entropy(x + 0.5, y, "sum")
        with pytest.raises(ValueError, match="weight gets no gradient"):
            F.binary_cross_entropy_with_logits(x, y, dlcore.ones(3, requires_grad=True))
        with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: reduction"):
            F.binary_cross_entropy_with_logits(x, y, reduction="batchmean")


class TestGaussianNll:
    @pytest.mark.parametrize("full", [False, True])
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    @pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3), None])
    def test_agrees_with_torch(self, full, reduction, var_shape):
        """Heteroscedastic, one variance per row (with and without the last dim), one per
        column, and a number."""
        mean, target = randn((4, 3), 0, False).data, randn((4, 3), 1, False).data
        arrays = [mean, target]
        if var_shape is not None:
            var = uniform(var_shape, 2, 0.1, 3.0)
            var.flat[0] = 1e-8  # below eps: clamped, with PyTorch's straight-through gradient
            arrays.append(var)
        number = [0.7] if var_shape is None else []
        torch_agrees(lambda *a: F.gaussian_nll_loss(*a, *number, full, reduction=reduction),
                     lambda torch, *a: torch.nn.functional.gaussian_nll_loss(
                         *a, *number, full, reduction=reduction), *arrays)

    def test_spatial_homoscedastic_var_agrees_with_torch(self):
        images, target = randn((2, 3, 4, 5), 0, False).data, randn((2, 3, 4, 5), 1, False).data
        torch_agrees(F.gaussian_nll_loss,
                     lambda torch, m, y, v: torch.nn.functional.gaussian_nll_loss(m, y, v),
                     images, target, uniform((2, 1, 4, 5), 2, 0.5, 2))

    def test_full_is_the_normal_negative_log_density(self):
        mu, y, var = dlcore.tensor([0.5, -1.0, 2.0]), dlcore.tensor([1.0, 1.0, 2.0]), \
            dlcore.tensor([0.25, 4.0, 1.0])
        loss = F.gaussian_nll_loss(mu, y, var, full=True, reduction="none").data
        sigma2 = var.data
        density = 0.5 * np.log(2 * np.pi * sigma2) + (y.data - mu.data) ** 2 / (2 * sigma2)
        np.testing.assert_allclose(loss, density, rtol=1e-6)
        without = F.gaussian_nll_loss(mu, y, var, reduction="none").data
        np.testing.assert_allclose(loss - without, 0.5 * math.log(2 * math.pi), rtol=1e-6)

    def test_var_is_clamped_at_eps_and_its_gradient_taken_there(self):
        var = dlcore.tensor([0.0, 1e-3], dtype=np.float64, requires_grad=True)
        loss = F.gaussian_nll_loss(dlcore.zeros(2, dtype=np.float64),
                                   dlcore.ones(2, dtype=np.float64), var, eps=1e-2,
                                   reduction="sum")
        assert loss.item() == pytest.approx(np.log(1e-2) + 1 / 1e-2)
        loss.backward()
        np.testing.assert_allclose(var.grad, 0.5 * (1 / 1e-2 - 1 / 1e-4))

    @given(seed=seeds)
    def test_gradients(self, seed):
        mu, y = randn((3, 7), seed), randn((3, 7), seed + 1)
        for shape in ((3, 7), (3,), (3, 1), (1, 7)):
            var = randn(shape, seed + 2, low=0.2)
            assert gradcheck(lambda a, b, v: F.gaussian_nll_loss(a, b, v, reduction="sum"),
                             mu, y, var)
        assert gradcheck(lambda a, b: F.gaussian_nll_loss(a, b, 0.5, True), mu, y)

    def test_errors(self):
        mu, y = dlcore.zeros(4, 3), dlcore.zeros(4, 3)
        with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entries"):
            F.gaussian_nll_loss(mu, y, dlcore.tensor([1.0, -1.0, 1.0]).reshape(1, 3))
        with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entries"):
            F.gaussian_nll_loss(mu, y, -1.0)
        for shape in ((3,), (4, 2), (2, 1), (4, 3, 1)):
            with pytest.raises(ValueError, match=rf"gaussian_nll_loss: var of shape "
                                                 rf"{re.escape(str(shape))}"):
                F.gaussian_nll_loss(mu, y, dlcore.ones(*shape))
        with pytest.raises(ValueError, match="gaussian_nll_loss: reduction"):
            F.gaussian_nll_loss(mu, y, 1.0, reduction="batchmean")
        with pytest.raises(ValueError, match="gaussian_nll_loss: eps"):
            F.gaussian_nll_loss(mu, y, 1.0, eps=-1.0)
        with pytest.raises(ValueError, match=r"gaussian_nll_loss: input of shape \(4, 3\)"):
            F.gaussian_nll_loss(mu, dlcore.zeros(4, 1), 1.0)
