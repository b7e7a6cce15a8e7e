"""Activations and the softmax family: the notes' facts and gradients."""
import math

import numpy as np
import pytest
from hypothesis import given

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import broadcast_pairs, randn, seeds, shapes


def derivative_at(fn, value: float) -> float:
    x = dlcore.tensor([value], requires_grad=True)
    fn(x).sum().backward()
    return float(x.grad[0])


class TestFacts:
    def test_sigmoid(self):
        assert F.sigmoid(dlcore.tensor([0.0])).item() == 0.5
        assert derivative_at(F.sigmoid, 0.0) == 0.25

    def test_tanh_slope_is_one_at_zero(self):
        assert derivative_at(F.tanh, 0.0) == 1.0

    def test_relu_derivative_is_zero_at_zero(self):
        assert derivative_at(F.relu, 0.0) == 0.0
        assert derivative_at(F.relu, 2.0) == 1.0 and derivative_at(F.relu, -2.0) == 0.0

    def test_leaky_relu_slope(self):
        assert F.leaky_relu(dlcore.tensor([-2.0, 3.0])).data.tolist() == pytest.approx([-0.02, 3])

    def test_elu(self):
        assert F.elu(dlcore.tensor([-1.0, 2.0]), alpha=0.5).data.tolist() == pytest.approx(
            [0.5 * (math.exp(-1) - 1), 2])

    def test_prelu_is_max_plus_alpha_min(self):
        x = dlcore.tensor([[-2.0, 3.0], [4.0, -1.0]])
        np.testing.assert_allclose(F.prelu(x, dlcore.tensor([0.1, 0.5])).data,
                                   [[-0.2, 3], [4, -0.5]], rtol=1e-6)

    def test_gelu_against_erf(self):
        values = [-3.0, -0.5, 0.0, 0.7, 2.5]
        expected = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in values]
        x = dlcore.tensor(values, dtype=np.float64)
        np.testing.assert_allclose(F.gelu(x).data, expected, rtol=2e-7, atol=1e-12)
        np.testing.assert_allclose(F.gelu(x, approximate="tanh").data, expected, atol=1e-3)

    def test_silu_and_softplus(self):
        x = dlcore.tensor([-1.0, 0.0, 30.0], dtype=np.float64)
        np.testing.assert_allclose(F.silu(x).data, x.data / (1 + np.exp(-x.data)))
        np.testing.assert_allclose(F.softplus(x).data, [math.log1p(math.exp(-1)), math.log(2), 30])


ACTIVATIONS = {
    "relu": F.relu, "leaky_relu": F.leaky_relu, "elu": F.elu, "sigmoid": F.sigmoid,
    "tanh": F.tanh, "silu": F.silu, "softplus": F.softplus, "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "softplus_beta": lambda t: F.softplus(t, beta=2.0, threshold=1.0),
    "softmax": lambda t: F.softmax(t, -1), "log_softmax": lambda t: F.log_softmax(t, 0),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(shape=shapes(), seed=seeds)
def test_gradients(name, shape, seed):
    x = randn(shape, seed)
    x.data[np.abs(x.data) < 1e-3] = 0.1  # finite differences straddling a kink are meaningless
    assert gradcheck(ACTIVATIONS[name], x, atol=1e-5)


@given(shape=shapes(min_dims=2), seed=seeds)
def test_prelu_gradient(shape, seed):
    x = randn(shape, seed)
    assert gradcheck(F.prelu, x, randn((shape[1],), seed + 1))
    assert gradcheck(F.prelu, x, randn((1,), seed + 1))


class TestAddRelu:
    """The fused residual join against the two ops it replaces, relu(a + b)."""

    @staticmethod
    def both_ways(a_data, b_data, dtype, requires=(True, True)):
        """(output, a.grad, b.grad) of add_relu and of relu(a + b) on fresh tensors."""
        results = []
        for fn in (F.add_relu, lambda a, b: F.relu(a + b)):
            a, b = (dlcore.tensor(d, dtype=dtype, requires_grad=r)
                    for d, r in zip((a_data, b_data), requires))
            out = fn(a, b)
            out.backward(np.random.default_rng(1).standard_normal(out.shape).astype(dtype))
            results.append((out.data, a.grad, b.grad))
        return results

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @given(shape=shapes(max_dims=4), seed=seeds)
    def test_matches_relu_of_the_sum_with_both_gradients(self, dtype, shape, seed):
        rng = np.random.default_rng(seed)
        a, b = rng.standard_normal(shape), rng.standard_normal(shape)
        b.flat[0] = -a.flat[0]                                 # a sum of 0: gradient 0
        fused, composed = self.both_ways(a, b, dtype)
        for got, want in zip(fused, composed):
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(fused[1], fused[2])     # one gradient for both

    def test_respects_requires_grad(self):
        a, b = np.ones((2, 3)), -np.ones((2, 3)) * 0.5
        (out, ga, gb), _ = self.both_ways(a, b, np.float32, requires=(False, True))
        assert ga is None and gb is not None
        a = dlcore.tensor(a, dtype=np.float32)
        assert not F.add_relu(a, a).requires_grad

    def test_the_same_tensor_twice_gets_both_gradients(self):
        x = dlcore.tensor([[-1.0, 2.0]], requires_grad=True)
        F.add_relu(x, x).sum().backward()
        np.testing.assert_array_equal(x.grad, [[0, 2]])

    @given(pair=broadcast_pairs(), seed=seeds)
    def test_broadcasting_falls_back_to_relu_of_the_sum(self, pair, seed):
        (sa, sb), _ = pair
        rng = np.random.default_rng(seed)
        fused, composed = self.both_ways(rng.standard_normal(sa), rng.standard_normal(sb),
                                         np.float32)
        for got, want in zip(fused, composed):
            np.testing.assert_array_equal(got, want)

    def test_a_number_or_mixed_dtypes_fall_back(self):
        x = dlcore.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        np.testing.assert_array_equal(F.add_relu(x, 1.0).data, [0, 1.5, 3])
        y = dlcore.tensor([1.0, 1.0, 1.0], dtype=np.float64)
        assert F.add_relu(x, y).dtype == np.float64

    @given(shape=shapes(), seed=seeds)
    def test_gradients(self, shape, seed):
        a, b = randn(shape, seed), randn(shape, seed + 1)
        b.data[np.abs(a.data + b.data) < 1e-3] += 0.1          # no finite difference on the kink
        assert gradcheck(F.add_relu, a, b, atol=1e-5)


def test_prelu_refuses_a_weight_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        F.prelu(dlcore.zeros(2, 4), dlcore.zeros(3))


def test_unknown_gelu_approximation():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(dlcore.zeros(1), approximate="erf")


class TestSoftmax:
    def test_is_a_distribution(self):
        probs = F.softmax(dlcore.randn(4, 10), dim=1).data
        assert np.all(probs >= 0)
        np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)

    def test_is_stable_for_logits_near_1000(self):
        probs = F.softmax(dlcore.tensor([1000.0, 1000.0, 999.0]), dim=0).data
        assert np.all(np.isfinite(probs))
        np.testing.assert_allclose(probs.sum(), 1, rtol=1e-6)
        assert np.all(np.isfinite(F.log_softmax(dlcore.tensor([1000.0, 0.0]), dim=0).data))

    def test_log_softmax_is_z_minus_logsumexp(self):
        z = dlcore.randn(3, 5, dtype=np.float64)
        np.testing.assert_allclose(F.log_softmax(z, 1).data,
                                   (z - z.logsumexp(1, keepdim=True)).data, rtol=1e-12)

    def test_jacobian_is_diag_minus_outer(self):
        z = dlcore.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
        g = F.softmax(z, 0).data
        rows = []
        for k in range(3):
            z.grad = None
            F.softmax(z, 0)[k].backward()
            rows.append(z.grad.copy())
        np.testing.assert_allclose(np.array(rows), np.diag(g) - np.outer(g, g), atol=1e-12)

    def test_temperature_limits(self):
        z = dlcore.tensor([1.0, 3.0, 2.0], dtype=np.float64)
        np.testing.assert_allclose(F.softmax(z / 1e6, 0).data, 1 / 3, atol=1e-6)
        np.testing.assert_allclose(F.softmax(z / 1e-3, 0).data, [0, 1, 0], atol=1e-6)

    def test_methods(self):
        x = dlcore.randn(2, 3)
        np.testing.assert_allclose(x.softmax(1).data, F.softmax(x, 1).data)
        np.testing.assert_allclose(x.log_softmax(-1).data, F.log_softmax(x, -1).data)
        np.testing.assert_allclose(x.relu().data, np.maximum(x.data, 0))
