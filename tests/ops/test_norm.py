"""Batch and layer normalisation: statistics, running averages and gradients."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore import kernels
from dlcore.testing import gradcheck

from .strategies import SIDES, randn, seeds


class TestBatchNorm:
    def test_training_output_has_mean_0_and_variance_var_over_var_plus_eps(self):
        x = dlcore.tensor(np.random.default_rng(0).normal(3, 0.1, (64, 4)), dtype=np.float64)
        y = F.batch_norm(x, None, None, training=True, eps=1e-5).data
        variance = x.data.var(axis=0)
        np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(y.var(axis=0), variance / (variance + 1e-5), rtol=1e-10)

    def test_gamma_sqrt_var_and_beta_mean_give_back_the_input(self):
        x = dlcore.tensor(np.random.default_rng(1).normal(2, 3, (256, 3)), dtype=np.float64)
        gamma = dlcore.tensor(np.sqrt(x.data.var(axis=0) + 1e-5), dtype=np.float64)
        beta = dlcore.tensor(x.data.mean(axis=0), dtype=np.float64)
        np.testing.assert_allclose(F.batch_norm(x, None, None, gamma, beta, training=True).data,
                                   x.data, rtol=1e-10)

    def test_per_channel_over_batch_and_space(self):
        x = randn((4, 3, 5, 2), 0, requires_grad=False)
        y = F.batch_norm(x, None, None, training=True).data
        np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)

    def test_running_statistics_use_momentum_and_the_unbiased_variance(self):
        x = randn((8, 2), 0, requires_grad=False)
        mean, var = np.zeros(2), np.ones(2)
        F.batch_norm(x, mean, var, training=True, momentum=0.1)
        np.testing.assert_allclose(mean, 0.1 * x.data.mean(axis=0))
        np.testing.assert_allclose(var, 0.9 + 0.1 * x.data.var(axis=0, ddof=1))

    def test_evaluation_uses_the_running_statistics(self):
        x = randn((3, 2), 0, requires_grad=False)
        mean, var = dlcore.tensor([1.0, -1.0]), dlcore.tensor([4.0, 0.25])
        weight, bias = dlcore.tensor([2.0, 1.0]), dlcore.tensor([0.0, 1.0])
        y = F.batch_norm(x, mean, var, weight, bias, eps=0.0)
        expected = (x.data - [1, -1]) / [2, 0.5] * [2, 1] + [0, 1]
        np.testing.assert_allclose(y.data, expected, rtol=1e-6)
        assert mean.tolist() == [1.0, -1.0]

    @pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 3, 3, 2), (1, 2, 3, 1),
                                       (3, 1, 2, 1, 2)])
    @given(training=st.booleans(), affine=st.booleans(), seed=seeds)
    def test_gradients(self, shape, training, affine, seed):
        x = randn(shape, seed)
        params = (randn((shape[1],), seed + 1), randn((shape[1],), seed + 2)) if affine else ()
        mean, var = np.zeros(shape[1]), np.ones(shape[1]) * 2

        def normalize(t, *weight_bias):
            return F.batch_norm(t, mean, var, *weight_bias, training=training, momentum=0.0)
        assert gradcheck(normalize, x, *params)

    @given(n=st.sampled_from([1, 2, 5]), c=SIDES, spatial=st.lists(SIDES, max_size=2),
           training=st.booleans(), affine=st.booleans(), seed=seeds)
    def test_float32_kernels_match_the_float64_reference(self, n, c, spatial, training,
                                                         affine, seed):
        """The C path (float32) against the NumPy reference in float64: output, every
        gradient, and the running statistics updated the same."""
        shape = (n, c, *spatial)
        if training and np.prod(shape) // c < 2:
            return
        rng = np.random.default_rng(seed)
        arrays = [rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape),
                  rng.standard_normal(c), rng.standard_normal(c)]
        results = []
        for dtype, backend in ((np.float32, "c"), (np.float64, "numpy")):
            x, g, w, b = (dlcore.tensor(a, dtype=dtype, requires_grad=True) for a in arrays)
            params = (w, b) if affine else ()
            stats = (np.zeros(c, dtype), np.full(c, 2.0, dtype))
            with kernels.use_backend(backend):
                out = F.batch_norm(x, *stats, *params, training=training, momentum=0.25)
                out.backward(g.data)
            results.append([out.data, x.grad, *(t.grad for t in params), *stats])
        for got, want in zip(*results):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    def test_gradients_only_where_required(self):
        x = randn((4, 3, 2), 0)
        w, b = randn((3,), 1, requires_grad=False), randn((3,), 2)
        F.batch_norm(x, None, None, w, b, training=True).sum().backward()
        assert w.grad is None and b.grad is not None and x.grad is not None
        x = randn((4, 3, 2), 0, requires_grad=False)
        F.batch_norm(x, np.zeros(3), np.ones(3), w, b).sum().backward()
        assert x.grad is None
        np.testing.assert_allclose(b.grad, 2 * 8.0)           # accumulated over two calls

    def test_float32_input_with_float64_statistics_and_parameters(self):
        """Mixed dtypes (float64 running statistics from NumPy) still run on the kernels."""
        x = dlcore.tensor(np.random.default_rng(0).standard_normal((4, 3, 2)),
                          requires_grad=True)
        w = dlcore.tensor(np.ones(3), dtype=np.float64, requires_grad=True)
        mean, var = np.zeros(3), np.ones(3)
        out = F.batch_norm(x, mean, var, w, training=True)
        assert out.dtype == np.float32 and mean.any()
        out.sum().backward()
        assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
        assert F.batch_norm(x, mean, var, w).dtype == np.float32

    def test_errors(self):
        with pytest.raises(ValueError, match="more than one value per channel"):
            F.batch_norm(dlcore.zeros(1, 3), None, None, training=True)
        with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
            F.batch_norm(dlcore.zeros(2, 3), dlcore.zeros(2), dlcore.ones(3))
        with pytest.raises(ValueError, match="needs running_mean and running_var"):
            F.batch_norm(dlcore.zeros(2, 3), None, None)


class TestLayerNorm:
    def test_each_example_has_mean_0_and_variance_about_1(self):
        x = randn((4, 10), 0, requires_grad=False) * 5 + 3
        y = F.layer_norm(x, 10).data
        np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
        np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-3)

    @pytest.mark.parametrize("shape, normalized",
                             [((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((1, 7), (7,))])
    @given(affine=st.booleans(), seed=seeds)
    def test_gradients(self, shape, normalized, affine, seed):
        params = (randn(normalized, seed + 1), randn(normalized, seed + 2)) if affine else ()
        x = randn(shape, seed)
        assert gradcheck(lambda t, *wb: F.layer_norm(t, normalized, *wb), x, *params)

    def test_shape_mismatch_is_refused(self):
        with pytest.raises(ValueError, match=r"\(5,\) does not fit input of shape \(2, 4\)"):
            F.layer_norm(dlcore.zeros(2, 4), 5)
