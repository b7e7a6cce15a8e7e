"""Module: registration, traversal, modes, state_dict and the errors that name a layer."""
import copy

import numpy as np
import pytest

import dlcore
from dlcore import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("offset", np.zeros(3, dtype=np.float32), persistent=False)

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale + self.offset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(8, 4), nn.ReLU())
        self.block = Block()
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.classifier(self.block(self.features(x)))


def test_assignment_registers_parameters_buffers_and_children_in_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "features.0.weight", "features.0.bias", "block.scale", "block.fc.weight",
        "block.fc.bias", "block.bn.weight", "block.bn.bias", "classifier.2.weight",
        "classifier.2.bias"]
    assert [name for name, _ in net.named_buffers()] == [
        "block.offset", "block.bn.running_mean", "block.bn.running_var",
        "block.bn.num_batches_tracked"]
    assert [name for name, _ in net.named_children()] == ["features", "block", "classifier"]
    assert [name for name, _ in net.named_modules()][:4] == ["", "features", "features.0",
                                                            "features.1"]
    assert len(list(net.modules())) == 11
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())


def test_registered_attributes_read_back_as_the_same_objects():
    net = Net()
    assert net.block.fc is net._modules["block"]._modules["fc"]
    assert net.block.fc.weight is dict(net.named_parameters())["block.fc.weight"]


def test_shared_parameter_is_listed_once():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3
    assert set(net.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias"}


def test_state_dict_holds_pytorch_keys_and_copies():
    net = Net()
    state = net.state_dict()
    assert list(state) == [
        "features.0.weight", "features.0.bias", "block.scale", "block.fc.weight",
        "block.fc.bias", "block.bn.weight", "block.bn.bias", "block.bn.running_mean",
        "block.bn.running_var", "block.bn.num_batches_tracked", "classifier.2.weight",
        "classifier.2.bias"]  # the non-persistent buffer block.offset is not saved
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["block.fc.weight"][...] = 7.0
    assert not np.any(net.block.fc.weight.data == 7.0)


def test_state_dict_round_trip_restores_outputs_in_place():
    dlcore.manual_seed(0)
    source, target = Net().eval(), Net().eval()
    x = dlcore.randn(5, 8)
    weight_before = target.block.fc.weight
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.block.fc.weight is weight_before  # copied in place: optimizers stay valid
    np.testing.assert_array_equal(target(x).data, source(x).data)


def test_strict_load_lists_missing_unexpected_and_mismatched_keys():
    net = Net()
    state = net.state_dict()
    del state["block.fc.bias"]
    state["block.extra"] = np.zeros(2)
    state["classifier.2.weight"] = np.zeros((2, 5))
    before = net.features[0].weight.data.copy()
    with pytest.raises(ValueError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "Error(s) in loading state_dict for Net" in message
    assert "missing keys: 'block.fc.bias'" in message
    assert "unexpected keys: 'block.extra'" in message
    assert "'classifier.2.weight': checkpoint has shape (2, 5), the model (2, 3)" in message
    np.testing.assert_array_equal(net.features[0].weight.data, before)  # nothing half-loaded


def test_non_strict_load_reports_keys_but_still_refuses_shape_mismatch():
    net = Net()
    state = net.state_dict()
    del state["block.fc.bias"]
    state["block.extra"] = np.zeros(2)
    assert net.load_state_dict(state, strict=False) == (["block.fc.bias"], ["block.extra"])
    state["classifier.2.bias"] = np.zeros(7)
    with pytest.raises(ValueError, match="classifier.2.bias"):
        net.load_state_dict(state, strict=False)


def test_load_refuses_a_dtype_that_cannot_be_cast():
    net = nn.BatchNorm1d(2)
    state = net.state_dict()
    state["num_batches_tracked"] = np.array(1.5)
    with pytest.raises(ValueError, match="num_batches_tracked': checkpoint has dtype float64"):
        net.load_state_dict(state)


def test_train_and_eval_switch_every_module():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_clears_or_zeroes_gradients():
    net = Net()
    net(dlcore.randn(4, 8)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_apply_visits_children_before_parents():
    visited = []
    Net().apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Net" and visited.index("Block") > visited.index("BatchNorm1d")


def test_requires_grad_freezes_and_num_parameters_counts():
    net = Net()
    total = 8 * 4 + 4 + 1 + 4 * 3 + 3 + 2 * 3 + 3 * 2 + 2
    assert net.num_parameters() == total
    net.features.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == total - 36


def test_to_casts_parameters_and_float_buffers_in_place():
    net = nn.BatchNorm1d(3)
    weight = net.weight
    net.to(np.float64)
    assert net.weight is weight and weight.dtype == np.float64
    assert net.running_mean.dtype == np.float64
    assert net.num_batches_tracked.dtype == np.int64


def test_deepcopy_gives_independent_registered_copies():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.block.fc.weight is not net.block.fc.weight
    assert twin.block.fc.weight is dict(twin.named_parameters())["block.fc.weight"]
    np.testing.assert_array_equal(twin.block.fc.weight.data, net.block.fc.weight.data)


def test_repr_is_a_tree():
    text = repr(Net())
    assert text.startswith("Net(\n  (features): Sequential(\n    (0): Linear(in_features=8, "
                           "out_features=4, bias=True)\n")
    assert "    (bn): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, " in text


def test_errors_name_the_module_path_and_both_shapes():
    net = nn.Module()
    net.classifier = nn.Sequential(nn.ReLU(), nn.Dropout(), nn.Linear(768, 10))
    with pytest.raises(ValueError) as error:
        net.classifier(dlcore.randn(512, 2048))
    assert str(error.value) == ("Linear 'classifier.2' expects in_features=768, got input of "
                                "shape (512, 2048)")
    with pytest.raises(ValueError, match=r"^Linear expects in_features=3"):
        nn.Linear(3, 2)(dlcore.randn(2, 4))


def test_int_input_into_a_float_layer_is_refused():
    with pytest.raises(TypeError, match="Linear expects a float32 input .* got int64"):
        nn.Linear(3, 2)(dlcore.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match="expects a Tensor input, got ndarray"):
        nn.Linear(3, 2)(np.zeros((1, 3), np.float32))


def test_registration_errors_are_clear():
    module = nn.Module()
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        module.register_parameter("w", dlcore.zeros(3))
    module.w = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'w'"):
        module.w = dlcore.zeros(3)
    with pytest.raises(ValueError, match="contain no '.'"):
        module.register_buffer("a.b", np.zeros(1))
    module.plain = 3
    with pytest.raises(KeyError, match="plain attribute 'plain'"):
        module.register_buffer("plain", np.zeros(1))

    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\)"):
        Forgetful()


def test_deleting_an_attribute_unregisters_it():
    net = Net()
    del net.block
    assert not any(name.startswith("block") for name in net.state_dict())


def test_parameter_requires_grad_and_must_be_floating():
    p = nn.Parameter(np.arange(3, dtype=np.float32))
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))
