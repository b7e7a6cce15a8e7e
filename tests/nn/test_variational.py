"""The VAE pieces: the Gaussian KL against the prior (its facts, PyTorch, a Monte-Carlo estimate,
exact gradients) and the reparameterised sample (its moments, its gradients, its generator)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore import nn
from dlcore.testing import gradcheck

SHAPES = [(1, 4), (5, 2), (2, 3, 7), (6,)]  # batch 1, a 3×7 latent, a scalar latent per sample


def posterior(shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return (dlcore.tensor(rng.standard_normal(shape), dtype=np.float64,
                          requires_grad=requires_grad),
            dlcore.tensor(rng.uniform(-2, 1, shape), dtype=np.float64,
                          requires_grad=requires_grad))


def closed_form(mu, log_var):
    """½ Σ (σ² + μ² − 1 − log σ²) per sample, written out."""
    terms = 0.5 * (np.exp(log_var) + mu**2 - 1 - log_var)
    return terms.reshape(len(terms), -1).sum(1)


class TestGaussianKl:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_is_zero_at_the_prior(self, shape):
        zeros = dlcore.zeros(*shape)
        for reduction in ("batchmean", "sum"):
            assert F.gaussian_kl(zeros, zeros, reduction).item() == 0.0
        assert np.array_equal(F.gaussian_kl(zeros, zeros, "none").data, np.zeros(shape[0]))

    @pytest.mark.parametrize("shape", SHAPES)
    def test_reductions_sum_over_latents_then_reduce_the_batch(self, shape):
        mu, log_var = posterior(shape, 1)
        per_sample = closed_form(mu.data, log_var.data)
        none = F.gaussian_kl(mu, log_var, reduction="none")
        assert none.shape == (shape[0],)
        np.testing.assert_allclose(none.data, per_sample, rtol=1e-12)
        assert F.gaussian_kl(mu, log_var, "sum").item() == pytest.approx(per_sample.sum())
        assert F.gaussian_kl(mu, log_var).item() == pytest.approx(per_sample.mean())
        assert (none.data > 0).all()

    @pytest.mark.parametrize("shape", SHAPES)
    def test_agrees_with_torch_distributions(self, shape):
        torch = pytest.importorskip("torch")
        from torch.distributions import Normal, kl_divergence
        mu, log_var = posterior(shape, 2)
        t_mu = torch.tensor(mu.data, requires_grad=True)
        t_log_var = torch.tensor(log_var.data, requires_grad=True)
        prior = Normal(torch.zeros_like(t_mu), torch.ones_like(t_mu))
        kl = kl_divergence(Normal(t_mu, (0.5 * t_log_var).exp()), prior)
        expected = kl.reshape(shape[0], -1).sum(-1).mean()
        loss = F.gaussian_kl(mu, log_var)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
        loss.backward()
        expected.backward()
        np.testing.assert_allclose(mu.grad, t_mu.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(log_var.grad, t_log_var.grad.numpy(), rtol=1e-10, atol=1e-15)

    def test_matches_a_monte_carlo_estimate(self):
        """E_q[log q(z) − log p(z)] over 200k reparameterised draws, within 2 %."""
        dlcore.manual_seed(0)
        mu = np.array([[0.5, -1.0, 0.3]])
        log_var = np.array([[-0.5, 0.4, 0.0]])
        n = 200_000
        z = F.reparameterize(dlcore.tensor(np.repeat(mu, n, 0), dtype=np.float64),
                             dlcore.tensor(np.repeat(log_var, n, 0), dtype=np.float64)).data
        log_q = -0.5 * (math.log(2 * math.pi) + log_var + (z - mu) ** 2 / np.exp(log_var))
        log_p = -0.5 * (math.log(2 * math.pi) + z**2)
        estimate = (log_q - log_p).sum(1).mean()
        exact = F.gaussian_kl(dlcore.tensor(mu), dlcore.tensor(log_var)).item()
        assert estimate == pytest.approx(exact, rel=0.02)

    def test_gradients_are_mu_and_half_of_var_minus_one(self):
        mu, log_var = posterior((4, 3), 3)
        F.gaussian_kl(mu, log_var).backward()
        np.testing.assert_allclose(mu.grad, mu.data / 4, rtol=1e-14)
        np.testing.assert_allclose(log_var.grad, 0.5 * (np.exp(log_var.data) - 1) / 4,
                                   rtol=1e-12)

    @pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
    @given(shape=st.sampled_from(SHAPES), seed=st.integers(0, 2**16))
    def test_gradcheck(self, reduction, shape, seed):
        mu, log_var = posterior(shape, seed)
        assert gradcheck(lambda m, v: F.gaussian_kl(m, v, reduction), mu, log_var)

    def test_keeps_float32_and_is_accurate_near_the_prior(self):
        """σ² − 1 − log σ² ≈ (log σ²)² / 2 is far below float32's resolution at 1 when
        log σ² = 1e-4: exp(x) − 1 − x would round to a multiple of 1.2e-7, expm1 keeps 3 digits."""
        tiny = dlcore.full((2, 3), 1e-4)
        loss = F.gaussian_kl(tiny * 0, tiny, reduction="none")
        assert loss.dtype == np.float32
        x = float(tiny.data[0, 0])
        np.testing.assert_allclose(loss.data, 3 * 0.5 * (np.expm1(x) - x), rtol=1e-3)

    def test_errors(self):
        z = dlcore.zeros(2, 3)
        with pytest.raises(ValueError, match=r"gaussian_kl: mean of shape \(2, 3\) and log_var "
                                             r"of shape \(2, 1\) differ"):
            F.gaussian_kl(z, dlcore.zeros(2, 1))
        with pytest.raises(ValueError, match="gaussian_kl: reduction must be one of 'batchmean'"):
            F.gaussian_kl(z, z, reduction="mean")
        with pytest.raises(ValueError, match="gaussian_kl: .*batch dimension"):
            F.gaussian_kl(dlcore.tensor(0.0), dlcore.tensor(0.0))
        with pytest.raises(TypeError, match="gaussian_kl: log_var must be a Tensor"):
            F.gaussian_kl(z, np.zeros((2, 3)))


class TestReparameterize:
    def test_samples_have_the_mean_and_standard_deviation(self):
        dlcore.manual_seed(1)
        n, mu, log_var = 100_000, np.array([2.0, -1.0, 0.0]), np.array([0.0, math.log(4), -3.0])
        sample = F.reparameterize(dlcore.tensor(np.tile(mu, (n, 1))),
                                  dlcore.tensor(np.tile(log_var, (n, 1)))).data
        std = np.exp(0.5 * log_var)
        np.testing.assert_allclose(sample.mean(0), mu, atol=float(4 * std.max() / math.sqrt(n)))
        np.testing.assert_allclose(sample.std(0), std, rtol=0.01)

    @pytest.mark.parametrize("shape", [(1, 4), (2, 3, 7), ()])
    def test_gradient_is_one_for_the_mean_and_half_noise_times_sigma_for_log_var(self, shape):
        mu, log_var = posterior(shape, 4)
        sample = F.reparameterize(mu, log_var)
        sigma = np.exp(0.5 * log_var.data)
        noise = (sample.data - mu.data) / sigma
        sample.sum().backward()
        np.testing.assert_array_equal(mu.grad, np.ones(shape))
        np.testing.assert_allclose(log_var.grad, 0.5 * noise * sigma, rtol=1e-12)

    def test_draws_from_the_global_generator(self):
        mu, log_var = dlcore.zeros(3, 2), dlcore.zeros(3, 2)
        dlcore.manual_seed(7)
        state = dlcore.random.get_state()
        first = F.reparameterize(mu, log_var).data
        dlcore.random.set_state(state)
        np.testing.assert_array_equal(F.reparameterize(mu, log_var).data, first)
        assert first.dtype == np.float32
        assert not np.array_equal(F.reparameterize(mu, log_var).data, first)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"reparameterize: mean of shape \(2,\) and log_var "
                                             r"of shape \(3,\) differ"):
            F.reparameterize(dlcore.zeros(2), dlcore.zeros(3))
        with pytest.raises(TypeError, match="reparameterize: mean must be floating-point"):
            F.reparameterize(dlcore.tensor([1, 2]), dlcore.zeros(2))


class TestGaussianSample:
    def test_samples_in_training_and_by_default_in_eval(self):
        layer = nn.GaussianSample()
        mu, log_var = dlcore.zeros(4, 3), dlcore.zeros(4, 3)
        for mode in (layer.train, layer.eval):
            mode()
            dlcore.manual_seed(2)
            drawn = layer(mu, log_var).data
            dlcore.manual_seed(2)
            np.testing.assert_array_equal(drawn, F.reparameterize(mu, log_var).data)
            assert drawn.std() > 0.3

    def test_eval_returns_the_mean_without_sample_in_eval(self):
        layer = nn.GaussianSample(sample_in_eval=False)
        mu, log_var = dlcore.randn(2, 5), dlcore.zeros(2, 5)
        assert layer.eval()(mu, log_var) is mu
        assert not np.array_equal(layer.train()(mu, log_var).data, mu.data)
        assert repr(layer) == "GaussianSample(sample_in_eval=False)"
        assert repr(nn.GaussianSample()) == "GaussianSample()"

    def test_gradients_reach_an_encoder(self):
        dlcore.manual_seed(3)
        encoder = nn.Linear(4, 6)
        out = encoder(dlcore.randn(5, 4))
        z = nn.GaussianSample()(out[:, :3], out[:, 3:])
        (z.pow(2).sum() + F.gaussian_kl(out[:, :3], out[:, 3:])).backward()
        assert encoder.weight.grad is not None and np.abs(encoder.weight.grad).sum() > 0
        assert list(nn.GaussianSample().parameters()) == []

    def test_errors(self):
        with pytest.raises(TypeError, match="GaussianSample: sample_in_eval must be a bool"):
            nn.GaussianSample(sample_in_eval="no")
        with pytest.raises(ValueError, match="GaussianSample: mean of shape"):
            nn.GaussianSample(False).eval()(dlcore.zeros(2), dlcore.zeros(1))
