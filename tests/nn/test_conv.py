"""Conv2d: the output-size formula, padding modes, weight layout, parameter counts, init."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import nn


def output_size(n, k, padding, stride, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@pytest.mark.parametrize("n, k, padding, stride, expected", [
    (4, 3, 1, 1, 4),   # FEATURES §11: 4×4, 3×3 kernel, total pad 2 -> 4×4
    (4, 3, 0, 1, 2),   # no padding -> n - k + 1
    (8, 3, 1, 1, 8),
    (8, 3, 1, 2, 4),
    (8, 3, 0, 3, 2),
    (8, 5, 1, 4, 2),
])
def test_output_size_table(n, k, padding, stride, expected):
    conv = nn.Conv2d(2, 3, k, stride=stride, padding=padding)
    assert conv(dlcore.randn(1, 2, n, n)).shape == (1, 3, expected, expected)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(5, 12), w=st.integers(5, 12), k=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), dilation=st.integers(1, 2))
def test_output_size_formula(h, w, k, stride, padding, dilation):
    conv = nn.Conv2d(2, 3, k, stride=stride, padding=padding, dilation=dilation)
    out = conv(dlcore.randn(2, 2, h, w))
    assert out.shape == (2, 3, output_size(h, k, padding, stride, dilation),
                         output_size(w, k, padding, stride, dilation))


@pytest.mark.parametrize("kernel_size, dilation", [(3, 1), (4, 1), ((2, 5), 2)])
def test_same_padding_keeps_the_size_and_valid_pads_nothing(kernel_size, dilation):
    x = dlcore.randn(1, 2, 9, 10)
    assert nn.Conv2d(2, 4, kernel_size, padding="same", dilation=dilation)(x).shape == (1, 4, 9, 10)
    assert nn.Conv2d(2, 4, 3, padding="valid")(x).shape == (1, 4, 7, 8)


def test_weight_layout_and_parameter_count():
    conv = nn.Conv2d(6, 16, 5)
    assert conv.weight.shape == (16, 6, 5, 5) and conv.bias.shape == (16,)
    assert conv.num_parameters() == 16 * 6 * 5 * 5 + 16
    grouped = nn.Conv2d(8, 4, 3, groups=2, bias=False)
    assert grouped.weight.shape == (4, 4, 3, 3) and grouped.num_parameters() == 4 * 4 * 9


def test_rgb_filter_has_3k2_plus_1_parameters():
    assert nn.Conv2d(3, 1, 5).num_parameters() == 3 * 25 + 1


def test_1x1_conv_is_a_linear_layer_applied_per_pixel():
    conv = nn.Conv2d(5, 3, 1)
    x = dlcore.randn(2, 5, 4, 6)
    per_pixel = x.data.transpose(0, 2, 3, 1).reshape(-1, 5)
    expected = per_pixel @ conv.weight.data.reshape(3, 5).T + conv.bias.data
    got = conv(x).data.transpose(0, 2, 3, 1).reshape(-1, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_groups_convolve_channel_groups_separately():
    grouped = nn.Conv2d(4, 6, 3, padding=1, groups=2)
    x = dlcore.randn(1, 4, 5, 5)
    halves = []
    for g in range(2):
        part = nn.Conv2d(2, 3, 3, padding=1)
        part.weight.data[...] = grouped.weight.data[3 * g:3 * g + 3]
        part.bias.data[...] = grouped.bias.data[3 * g:3 * g + 3]
        halves.append(part(x[:, 2 * g:2 * g + 2]).data)
    np.testing.assert_allclose(grouped(x).data, np.concatenate(halves, axis=1), rtol=1e-5,
                               atol=1e-6)


def test_two_stacked_2x2_convs_see_the_whole_3x3_input():
    net = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Conv2d(1, 1, 2))
    x = dlcore.randn(1, 1, 3, 3, requires_grad=True)
    assert net[0](x).shape == (1, 1, 2, 2)
    net(x).sum().backward()
    assert np.all(x.grad != 0)


def test_default_init_bound_uses_fan_in_over_groups():
    dlcore.manual_seed(1)
    conv = nn.Conv2d(64, 32, 3, groups=2)
    bound = 1 / math.sqrt(32 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert conv.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_repr_shows_pytorch_settings():
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == (
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))")
    assert repr(nn.Conv2d(4, 4, 3, padding="same", groups=2, bias=False)) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding='same', groups=2, bias=False)")


def test_wrong_channels_name_the_layer():
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(3, 8, 3))
    with pytest.raises(ValueError, match=r"Conv2d 'features.0' expects input \(N, 3, H, W\) "
                                         r"\(in_channels=3\), got input of shape \(2, 1, 8, 8\)"):
        net.features(dlcore.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"expects input \(N, 3, H, W\)"):
        nn.Conv2d(3, 8, 3)(dlcore.randn(3, 8, 8))


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "divisible by groups=2"),
    (dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding="same"),
     "padding='same' needs stride 1"),
    (dict(in_channels=2, out_channels=4, kernel_size=3, padding="full"), "got 'full'"),
    (dict(in_channels=2, out_channels=4, kernel_size=0), "Conv2d: kernel_size must be an int or a pair of ints >= 1"),
    (dict(in_channels=2, out_channels=4, kernel_size=3, padding=-1), "Conv2d: padding must be an int or a pair of ints >= 0"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**kwargs)
