"""Autoencoders (d2l's generative chapters): a convolutional autoencoder and a VAE.

Both share one convolutional body for 28x28 grey images (Fashion-MNIST), the way a GAN's
discriminator and generator mirror each other:

- encoder: x (N, C, 28, 28) → conv 4x4/2 → 14x14 → conv 4x4/2 → 7x7 → flatten;
- decoder: code (N, latent_dim) → linear → (2w, 7, 7) → up 2x → 14x14 → up 2x → 28x28 logits,
  where "up" is a 4x4 stride-2 transposed convolution, or (``upsample=True``) a nearest 2x
  upsampling followed by a 3x3 convolution, which avoids the transposed convolution's
  checkerboard artefacts.

The decoder ends in logits: the pixels (in [0, 1], ``normalize = false`` on the data) are
modelled as Bernoulli, so the reconstruction loss is binary cross-entropy with logits and
``sigmoid(logits)`` is the image.
"""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn
from dlcore.tensor import Tensor

from .registry import register

IMAGE_SIZE = 28  # the body halves twice: 28 → 14 → 7


def _encoder(nn, in_channels: int, width: int, out_features: int) -> dlcore_nn.Module:
    """x (N, C, 28, 28) -> (N, out_features)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.BatchNorm2d(2 * width),
        nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * width * 7 * 7, out_features))


def _up(nn, in_channels: int, out_channels: int, upsample: bool) -> list:
    """Twice the height and width."""
    if upsample:
        return [nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(in_channels, out_channels, 3, padding=1)]
    return [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)]


def _decoder(nn, latent_dim: int, width: int, out_channels: int,
             upsample: bool) -> dlcore_nn.Module:
    """code (N, latent_dim) -> logits (N, out_channels, 28, 28)."""
    return nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
        *_up(nn, 2 * width, width, upsample), nn.BatchNorm2d(width), nn.ReLU(),
        *_up(nn, width, out_channels, upsample))


def _check(model: str, in_channels: int, image_size: int, latent_dim: int, width: int) -> None:
    checks.positive_int(model, "in_channels", in_channels)
    checks.positive_int(model, "latent_dim", latent_dim)
    checks.positive_int(model, "width", width)
    if image_size != IMAGE_SIZE:
        raise ValueError(f"{model}: image_size must be {IMAGE_SIZE} (the body halves 28 → 14 → "
                         f"7), got {image_size}")


class Autoencoder(dlcore_nn.Module):
    """``encoder``: x -> code (N, latent_dim); ``decoder``: code -> reconstruction logits.
    Calling it reconstructs: ``model(x) == decoder(encoder(x))``."""

    def __init__(self, encoder: dlcore_nn.Module, decoder: dlcore_nn.Module, latent_dim: int):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.latent_shape = (int(latent_dim),)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class VAE(Autoencoder):
    """A variational autoencoder (Kingma & Welling 2014): the encoder gives the mean and log
    variance of a Gaussian posterior q(z|x) over the code, ``model(x)`` draws z from it by
    reparameterisation (so the gradient flows through the draw) and returns
    ``(logits, mean, log_var)``. New images come from decoding z ~ N(0, I), the prior."""

    def __init__(self, encoder: dlcore_nn.Module, decoder: dlcore_nn.Module, latent_dim: int):
        super().__init__(encoder, decoder, latent_dim)
        self.sample = dlcore_nn.GaussianSample()

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, log_var), each (N, latent_dim)."""
        stats = self.encoder(x)
        latent = self.latent_shape[0]
        return stats[:, :latent], stats[:, latent:]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mean, log_var = self.encode(x)
        return self.decode(self.sample(mean, log_var)), mean, log_var


@register("autoencoder", task="reconstruction")
def autoencoder(in_channels: int = 1, image_size: int = 28, latent_dim: int = 16,
                width: int = 32, upsample: bool = False, *, nn=dlcore_nn) -> dlcore_nn.Module:
    """A convolutional autoencoder: x (N, C, 28, 28) -> code (N, latent_dim) -> logits.

    ``width`` channels after the first conv, 2·width after the second; ``upsample`` decodes
    by nearest upsampling + conv instead of transposed convolutions.
    """
    _check("autoencoder", in_channels, image_size, latent_dim, width)
    return Autoencoder(_encoder(nn, in_channels, width, latent_dim),
                       _decoder(nn, latent_dim, width, in_channels, upsample), latent_dim)


@register("vae", task="vae")
def vae(in_channels: int = 1, image_size: int = 28, latent_dim: int = 16, width: int = 32,
        upsample: bool = False, *, nn=dlcore_nn) -> dlcore_nn.Module:
    """A convolutional VAE: x (N, C, 28, 28) -> mean, log σ² (N, latent_dim) -> z -> logits.

    The autoencoder's body with an encoder head of 2·latent_dim outputs (mean, log variance).
    """
    _check("vae", in_channels, image_size, latent_dim, width)
    return VAE(_encoder(nn, in_channels, width, 2 * latent_dim),
               _decoder(nn, latent_dim, width, in_channels, upsample), latent_dim)
