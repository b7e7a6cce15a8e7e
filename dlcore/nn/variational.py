"""The pieces of a variational autoencoder: the KL term of the ELBO against a standard normal
prior, and the reparameterised Gaussian sample that lets gradients reach the encoder.

An encoder outputs a mean μ and a log-variance log σ² (unconstrained, unlike σ² itself); the
decoder sees ``μ + σ ε`` with ε ~ N(0, 1), and the loss is reconstruction + β · KL.
"""
from __future__ import annotations

import numpy as np

from dlcore import checks, random
from dlcore.nn.module import Module
from dlcore.tensor import Tensor, is_grad_enabled

KL_REDUCTIONS = ("batchmean", "sum", "none")


def _mean_and_log_var(mean, log_var, op: str) -> None:
    for name, value in (("mean", mean), ("log_var", log_var)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
        if value.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be floating-point, got dtype {value.dtype}")
    if mean.shape != log_var.shape:
        raise ValueError(f"{op}: mean of shape {mean.shape} and log_var of shape "
                         f"{log_var.shape} differ")


def gaussian_kl(mean: Tensor, log_var: Tensor, reduction: str = "batchmean") -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per sample: ``½ Σ (σ² + μ² − 1 − log σ²)`` over every dimension
    but the first (the batch), for ``mean`` μ and ``log_var`` log σ² of the same shape.

    ``"batchmean"`` averages the per-sample KLs over the batch (the KL term a VAE minimises:
    summed over latents, not averaged, or it would shrink with the latent size); ``"sum"`` adds
    them; ``"none"`` returns them, shape (N,). One op with exact gradients μ and ½(σ² − 1);
    σ² − 1 is ``expm1``, accurate where the posterior is near the prior.
    """
    op = "gaussian_kl"
    checks.one_of(op, "reduction", reduction, KL_REDUCTIONS)
    _mean_and_log_var(mean, log_var, op)
    if mean.ndim == 0:
        raise ValueError(f"{op}: mean and log_var need a batch dimension, got shape ()")
    mu, lv = mean.data, log_var.data
    n, latent_axes = mu.shape[0], tuple(range(1, mu.ndim))
    var_minus_1 = np.expm1(lv)
    per_sample = 0.5 * (var_minus_1 - lv + mu * mu).sum(axis=latent_axes)
    if reduction == "none":
        out = per_sample
    else:
        out = per_sample.sum() if reduction == "sum" else per_sample.mean()

    def backward(g):
        if reduction == "none":
            g = g.reshape((n,) + (1,) * len(latent_axes))
        elif reduction == "batchmean":
            g = g / n
        return (g * mu if mean.requires_grad else None,
                g * (0.5 * var_minus_1) if log_var.requires_grad else None)
    return Tensor._make(out, (mean, log_var), backward)


def reparameterize(mean: Tensor, log_var: Tensor) -> Tensor:
    """A draw from N(μ, σ²) written as ``μ + σ ε``, ε ~ N(0, 1): the noise is an input rather
    than the result of sampling, so the draw is differentiable in μ (gradient 1) and log σ²
    (gradient ½ σ ε). ε comes from :func:`dlcore.random.generator`, so a seeded or resumed run
    draws the same samples."""
    _mean_and_log_var(mean, log_var, "reparameterize")
    mu = mean.data
    std = np.exp(0.5 * log_var.data)
    draw_dtype = mu.dtype if mu.dtype in (np.float32, np.float64) else np.float64
    noise = random.generator().standard_normal(mu.shape, dtype=draw_dtype)
    noise = noise.astype(mu.dtype, copy=False)
    half_std_noise = None
    if log_var.requires_grad and is_grad_enabled():
        half_std_noise = 0.5 * std * noise

    def backward(g):
        return (g if mean.requires_grad else None,
                g * half_std_noise if log_var.requires_grad else None)
    return Tensor._make(mu + std * noise, (mean, log_var), backward)


class GaussianSample(Module):
    """The reparameterised Gaussian layer: ``forward(mean, log_var)`` returns
    :func:`reparameterize`'s ``mean + exp(½ log_var) ε``.

    It samples in eval mode too, unlike dropout, because a VAE's ELBO (validation loss included)
    is an expectation estimated by sampling; ``sample_in_eval=False`` makes eval return the
    mean instead (a deterministic encoding, e.g. for reconstructions or embeddings).
    """

    def __init__(self, sample_in_eval: bool = True):
        super().__init__()
        if not isinstance(sample_in_eval, (bool, np.bool_)):
            raise TypeError(f"GaussianSample: sample_in_eval must be a bool, "
                            f"got {sample_in_eval!r}")
        self.sample_in_eval = bool(sample_in_eval)

    def forward(self, mean: Tensor, log_var: Tensor) -> Tensor:
        if self.training or self.sample_in_eval:
            return reparameterize(mean, log_var)
        _mean_and_log_var(mean, log_var, "GaussianSample")
        return mean

    def extra_repr(self) -> str:
        return "" if self.sample_in_eval else "sample_in_eval=False"
