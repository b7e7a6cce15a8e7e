"""Pooling: the notes' worked example, sizes, indices and gradients."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn, seeds

# the feature map Y of the notes' Ex. 4.4 (after conv, bias 2 and ReLU)
EX_4_4_Y = dlcore.tensor([[[[0, 5, 8, 0], [6, 10, 1, 5], [4, 0, 2, 11], [0, 1, 11, 3]]]],
                         dtype=np.float32)


def test_worked_example_max_pool():
    assert F.max_pool2d(EX_4_4_Y, 2).tolist() == [[[[10, 8], [4, 11]]]]


def test_worked_example_avg_pool():
    assert F.avg_pool2d(EX_4_4_Y, 2, stride=2).tolist() == [[[[21 / 4, 7 / 2], [5 / 4, 27 / 4]]]]


def test_two_by_two_stride_two_halves_height_and_width_and_keeps_channels():
    assert F.max_pool2d(dlcore.zeros(2, 3, 8, 6), 2).shape == (2, 3, 4, 3)


def test_max_pool_indices_are_flat_positions_in_the_plane():
    y, indices = F.max_pool2d(EX_4_4_Y, 2, return_indices=True)
    assert indices.dtype == np.int64 and indices.tolist() == [[[[5, 2], [8, 11]]]]


def test_max_pool_routes_the_gradient_to_the_argmax():
    x = dlcore.tensor(EX_4_4_Y.data, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad[0, 0].tolist() == [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]]


@given(size=st.sampled_from([(4, 4), (7, 5), (3, 6)]), kernel=st.sampled_from([2, 3, (2, 1)]),
       stride=st.sampled_from([None, 1, 2]), padding=st.sampled_from([0, 1]), seed=seeds)
def test_gradients(size, kernel, stride, padding, seed):
    assume(2 * padding <= min((kernel, kernel) if isinstance(kernel, int) else kernel))
    x = randn((2, 3) + size, seed)
    args = dict(kernel_size=kernel, stride=stride, padding=padding)
    assert gradcheck(lambda t: F.max_pool2d(t, **args), x)
    assert gradcheck(lambda t: F.avg_pool2d(t, **args), x)
    assert gradcheck(lambda t: F.avg_pool2d(t, **args, count_include_pad=False), x)


class TestAdaptiveAvgPool:
    def test_to_one_is_the_global_mean(self):
        x = dlcore.randn(2, 3, 5, 4)
        y = F.adaptive_avg_pool2d(x, 1)
        assert y.shape == (2, 3, 1, 1)
        np.testing.assert_allclose(y.data[:, :, 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-5)

    def test_uneven_bins_follow_pytorch(self):
        x = dlcore.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
        # bins of a length-5 axis into 3: [0, 2), [1, 4), [3, 5)
        assert F.adaptive_avg_pool2d(x, (1, 3)).tolist() == [[[[0.5, 2.0, 3.5]]]]
        assert F.adaptive_avg_pool2d(x, (None, 5)).shape == (1, 1, 1, 5)

    @pytest.mark.parametrize("output_size", [1, 2, (3, 2), (4, 4)])
    def test_gradients(self, output_size):
        assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, output_size), randn((2, 2, 6, 5), 0))


def test_pooling_refuses_non_image_input():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        F.max_pool2d(dlcore.zeros(4, 4), 2)
