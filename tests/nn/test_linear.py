"""Linear, Identity, Flatten: shapes, parameter counts, PyTorch's default initialisation."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import nn
from dlcore.testing import gradcheck


def test_linear_maps_the_last_dim():
    assert nn.Linear(8, 4)(dlcore.randn(3, 8)).shape == (3, 4)
    assert nn.Linear(8, 4)(dlcore.randn(2, 5, 8)).shape == (2, 5, 4)


def test_linear_computes_x_wt_plus_b():
    layer = nn.Linear(3, 2)
    x = dlcore.randn(4, 3)
    expected = x.data @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-6)


def test_linear_without_bias_registers_none():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]


@pytest.mark.parametrize("in_features, out_features", [(784, 512), (3, 1)])
def test_linear_default_init_is_uniform_within_one_over_root_fan_in(in_features, out_features):
    dlcore.manual_seed(0)
    layer = nn.Linear(in_features, out_features)
    bound = 1 / math.sqrt(in_features)
    assert layer.weight.shape == (out_features, in_features)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    if layer.weight.data.size > 1000:  # enough samples to see the uniform spread
        assert np.abs(layer.weight.data).max() > 0.99 * bound
        assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_mlp_784_512_512_10_has_669706_parameters():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                        nn.ReLU(), nn.Linear(512, 10))
    assert [m.num_parameters() for m in mlp if isinstance(m, nn.Linear)] == [401920, 262656, 5130]
    assert mlp.num_parameters() == 669706
    assert nn.Sequential(nn.Linear(784, 10), nn.Linear(10, 10)).num_parameters() == 7960


def test_two_stacked_linear_layers_are_one_linear_layer():
    first, second = nn.Linear(5, 4), nn.Linear(4, 3)
    x = dlcore.randn(6, 5)
    combined = nn.Linear(5, 3)
    combined.weight.data[...] = second.weight.data @ first.weight.data
    combined.bias.data[...] = second.weight.data @ first.bias.data + second.bias.data
    np.testing.assert_allclose(second(first(x)).data, combined(x).data, rtol=1e-5, atol=1e-6)


def test_flatten_keeps_the_batch_dim():
    assert nn.Flatten()(dlcore.randn(3, 28, 28)).shape == (3, 784)
    assert nn.Flatten()(dlcore.randn(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten(0, 1)(dlcore.randn(2, 3, 4)).shape == (6, 4)


def test_identity_returns_its_input():
    x = dlcore.randn(2, 3)
    assert nn.Identity()(x) is x


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 4), max_size=2), in_features=st.integers(1, 6),
       out_features=st.integers(1, 6))
def test_linear_shape_fuzz(batch, in_features, out_features):
    out = nn.Linear(in_features, out_features)(dlcore.randn(*batch, in_features))
    assert out.shape == (*batch, out_features)


def test_linear_gradients_match_finite_differences():
    layer = nn.Linear(3, 2).to(np.float64)
    x = dlcore.randn(4, 3, dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3)])
def test_linear_refuses_bad_sizes(args):
    with pytest.raises(ValueError, match=r"Linear: (in|out)_features must be a positive int"):
        nn.Linear(*args)
