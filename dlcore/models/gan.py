"""Generative adversarial networks: a generator and a discriminator in one module."""
from __future__ import annotations

from collections.abc import Sequence

from dlcore import checks, nn
from dlcore import nn as dlcore_nn

from .registry import activation as make_activation
from .registry import register


class GAN(nn.Module):
    """``generator``: latent codes (N, *latent_shape) -> samples; ``discriminator``: samples ->
    logits (N, 1), positive for "data". Calling the GAN generates: ``gan(z) == generator(z)``.

    The adversarial updater trains each half with its own optimizer; one state dict holds both
    (``generator.*``, ``discriminator.*``).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module,
                 latent_shape: Sequence[int]):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_shape = tuple(int(n) for n in latent_shape)

    def forward(self, z):
        return self.generator(z)


def _mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


@register("gaussian_gan", task="adversarial")
def gaussian_gan(in_features: int = 2, latent_dim: int = 2,
                 discriminator_hidden: tuple[int, ...] = (5, 3),
                 activation: str = "tanh") -> nn.Module:
    """d2l's first GAN (§20.1): a linear generator (latent_dim -> in_features) learns an affine
    map of N(0, I) data; the discriminator is an MLP in_features -> 5 -> 3 -> 1 with tanh."""
    checks.positive_int("gaussian_gan", "latent_dim", latent_dim)
    checks.positive_int("gaussian_gan", "in_features", in_features)
    return GAN(nn.Linear(latent_dim, in_features),
               _mlp([in_features, *discriminator_hidden, 1], activation), (latent_dim,))


def dcgan_generator(latent_dim: int, width: int, out_channels: int, *,
                    nn=dlcore_nn) -> dlcore_nn.Module:
    """z (N, latent_dim, 1, 1) -> images (N, out_channels, 28, 28) in [-1, 1]: transposed
    convolutions 1 → 7 → 14 → 28, each hidden one followed by BatchNorm and ReLU, tanh out."""
    return nn.Sequential(
        nn.ConvTranspose2d(latent_dim, 4 * width, 7, bias=False), nn.BatchNorm2d(4 * width),
        nn.ReLU(),
        nn.ConvTranspose2d(4 * width, 2 * width, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, out_channels, 4, stride=2, padding=1), nn.Tanh())


def dcgan_discriminator(in_channels: int, width: int, *, nn=dlcore_nn) -> dlcore_nn.Module:
    """images (N, in_channels, 28, 28) -> logits (N, 1): strided convolutions 28 → 14 → 7 → 1
    with LeakyReLU(0.2); BatchNorm on the middle one only (none on the first, which sees the
    raw images, as Radford et al. advise)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * width, 1, 7), nn.Flatten())


@register("dcgan", task="adversarial")
def dcgan(in_channels: int = 1, image_size: int = 28, latent_dim: int = 64, width: int = 32
          ) -> nn.Module:
    """DCGAN (Radford et al. 2016, d2l §20.2) for 28x28 images: a generator of transposed
    convolutions + BatchNorm + ReLU with a tanh output, a discriminator of strided convolutions
    + LeakyReLU. Train on pixels in [-1, 1] (``normalize = "symmetric"``) with Adam β₁ = 0.5.
    ``width``: the discriminator's first channels (2·width; then 4·width), mirrored by the
    generator. Weights start from N(0, 0.02), BatchNorm scales from N(1, 0.02), as in the paper.
    """
    checks.positive_int("dcgan", "latent_dim", latent_dim)
    checks.positive_int("dcgan", "width", width)
    checks.positive_int("dcgan", "in_channels", in_channels)
    if image_size != 28:
        raise ValueError(f"dcgan: image_size must be 28 (the generator grows 1 → 7 → 14 → 28), "
                         f"got {image_size}")
    model = GAN(dcgan_generator(latent_dim, width, in_channels),
                dcgan_discriminator(in_channels, width), (latent_dim, 1, 1))
    dcgan_init_(model)
    return model


def dcgan_init_(model: nn.Module) -> None:
    """N(0, 0.02) conv weights, N(1, 0.02) BatchNorm scales, zero biases (DCGAN's recipe)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
