"""MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: sizes, values, arguments."""
import numpy as np
import pytest

import dlcore
from dlcore import nn

# FEATURES §11, Ex. 4.4: the feature map after the convolution, bias and ReLU
Y = dlcore.tensor([[[[0, 5, 8, 0], [6, 10, 1, 5], [4, 0, 2, 11], [0, 1, 11, 3]]]],
                  dtype=np.float32)


def test_2x2_pooling_halves_height_and_width_and_keeps_channels():
    x = dlcore.randn(2, 3, 4, 4)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 2, 2)
    assert nn.AvgPool2d(2, stride=2)(x).shape == (2, 3, 2, 2)
    assert nn.MaxPool2d(3, stride=2, padding=1)(dlcore.randn(1, 1, 8, 8)).shape == (1, 1, 4, 4)


def test_max_pool_values():
    np.testing.assert_array_equal(nn.MaxPool2d(2)(Y).data[0, 0], [[10, 8], [4, 11]])


def test_avg_pool_values():
    np.testing.assert_allclose(nn.AvgPool2d(2)(Y).data[0, 0], [[21 / 4, 7 / 2], [5 / 4, 27 / 4]])


def test_max_pool_can_return_the_argmax_indices():
    out, indices = nn.MaxPool2d(2, return_indices=True)(Y)
    # the bottom-right window holds 11 twice: the first one wins, as in PyTorch
    np.testing.assert_array_equal(indices.data[0, 0], [[5, 2], [8, 11]])
    np.testing.assert_array_equal(out.data, nn.MaxPool2d(2)(Y).data)


def test_adaptive_average_pool_to_one_is_the_global_mean():
    x = dlcore.randn(2, 3, 5, 7)
    out = nn.AdaptiveAvgPool2d(1)(x)
    assert out.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(out.data[:, :, 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-5)
    assert nn.AdaptiveAvgPool2d((3, None))(x).shape == (2, 3, 3, 7)


def test_pooling_refuses_non_images_and_bad_windows():
    with pytest.raises(ValueError, match=r"MaxPool2d expects input \(N, C, H, W\), got input "
                                         r"of shape \(4, 4\)"):
        nn.MaxPool2d(2)(dlcore.randn(4, 4))
    with pytest.raises(ValueError, match="padding at most half of kernel_size"):
        nn.AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size must be a positive int"):
        nn.AdaptiveAvgPool2d((0, 2))
    with pytest.raises(TypeError, match="floating-point input"):
        nn.MaxPool2d(2)(dlcore.zeros(1, 1, 4, 4, dtype=np.int64))
