"""Sequential, ModuleList, ModuleDict: ordered, registered, PyTorch keys."""
from collections import OrderedDict

import numpy as np
import pytest

import dlcore
from dlcore import nn


def test_sequential_applies_modules_in_order():
    net = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    x = dlcore.randn(3, 8)
    assert net(x).shape == (3, 2)
    np.testing.assert_array_equal(net[:2](x).data, np.maximum(net[0](x).data, 0))
    assert len(net) == 3 and isinstance(net[-1], nn.Linear)
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_accepts_named_modules():
    net = nn.Sequential(OrderedDict(hidden=nn.Linear(8, 4), act=nn.ReLU()))
    assert list(net.state_dict()) == ["hidden.weight", "hidden.bias"]
    assert net[0] is net.hidden


def test_sequential_refuses_non_modules():
    with pytest.raises(TypeError, match="Sequential holds Modules, got function"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_registers_and_renumbers():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    layers.append(nn.ReLU())
    layers.insert(0, nn.Linear(4, 2))
    assert [type(m).__name__ for m in layers] == ["Linear", "Linear", "Linear", "ReLU"]
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    del layers[0]
    assert layers[0].in_features == 2 and len(layers) == 3
    with pytest.raises(IndexError, match="index 3 is out of range for ModuleList of length 3"):
        layers[3]


def test_module_list_parameters_belong_to_the_owner():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(3, 3) for _ in range(2))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x
    stack = Stack()
    assert [name for name, _ in stack.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    with pytest.raises(ValueError, match="Linear 'layers.1' expects in_features=3"):
        stack.layers[1](dlcore.randn(1, 4))


def test_module_dict_is_keyed_and_ordered():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.Identity()
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert heads["b"](dlcore.randn(4, 2)).shape == (4, 3)
    del heads["a"]
    assert list(heads.state_dict()) == ["b.weight", "b.bias"]
