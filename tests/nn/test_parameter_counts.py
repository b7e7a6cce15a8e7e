"""Whole-network sizes from FEATURES §11: LeNet variants, layer by layer and in total."""
import dlcore
from dlcore import nn


def lenet(in_channels: int, first_padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=first_padding), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def layer_sizes(net):
    return [m.num_parameters() for m in net if m.num_parameters()]


def shapes_through(net, x):
    shapes = []
    for module in net:
        x = module(x)
        shapes.append(x.shape)
    return shapes


def test_d2l_lenet_on_1x28x28_has_61706_parameters():
    net = lenet(1, first_padding=2)
    shapes = shapes_through(net, dlcore.randn(2, 1, 28, 28))
    assert [s[2] for s in shapes[:6]] == [28, 28, 14, 10, 10, 5]
    assert shapes[6] == (2, 400) and shapes[-1] == (2, 10)
    assert layer_sizes(net) == [156, 2416, 48120, 10164, 850]
    assert net.num_parameters() == 61706


def test_lenet_on_3x32x32_has_62006_parameters():
    net = lenet(3, first_padding=0)
    shapes = shapes_through(net, dlcore.randn(2, 3, 32, 32))
    assert [s[2] for s in shapes[:6]] == [28, 28, 14, 10, 10, 5]
    assert layer_sizes(net) == [456, 2416, 48120, 10164, 850]
    assert net.num_parameters() == 62006
