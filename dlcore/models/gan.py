"""Generative adversarial networks: a generator and a discriminator in one module."""
from __future__ import annotations

from collections.abc import Sequence

from dlcore import checks, nn

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
