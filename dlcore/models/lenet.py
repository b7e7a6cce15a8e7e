"""LeNet-5 as in d2l, with a choice of activation and pooling, and with BatchNorm."""
from __future__ import annotations

from dlcore import checks
from dlcore import nn as dlcore_nn

from .registry import activation as make_activation
from .registry import register, variant

_POOLS = {"max": "MaxPool2d", "avg": "AvgPool2d"}


@register("lenet", task="classification")
def lenet(num_classes: int = 10, in_channels: int = 1, activation: str = "relu",
          pool: str = "max", batch_norm: bool = False, *, nn=dlcore_nn):
    """LeNet-5: x (N, in_channels, 28, 28) -> logits (N, C).

    conv 6@5x5 pad 2 → act → pool 2 → conv 16@5x5 → act → pool 2 → FC 120 → act → FC 84 → act
    → FC C. The 1998 original uses sigmoid and average pooling (``activation="sigmoid",
    pool="avg"``); ReLU with max pooling trains in far fewer epochs. ``batch_norm`` puts a
    BatchNorm before every hidden activation (d2l's BN-LeNet). ``nn=torch.nn`` builds the
    PyTorch twin (same layers, state_dict names and shapes).
    """
    pooling = getattr(nn, _POOLS[checks.one_of("lenet", "pool", pool, _POOLS)])

    def act(norm, features):
        return [norm(features)] * bool(batch_norm) + [make_activation(activation, nn)]
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), *act(nn.BatchNorm2d, 6),
        pooling(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), *act(nn.BatchNorm2d, 16),
        pooling(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), *act(nn.BatchNorm1d, 120),
        nn.Linear(120, 84), *act(nn.BatchNorm1d, 84),
        nn.Linear(84, num_classes),
    )


variant("lenet_classic", "lenet", "LeNet-5 as LeCun built it: sigmoid and average pooling",
        activation="sigmoid", pool="avg")
variant("lenet_bn", "lenet", "LeNet-5 with BatchNorm before each sigmoid (d2l's BN-LeNet)",
        activation="sigmoid", pool="avg", batch_norm=True)
