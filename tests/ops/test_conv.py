"""conv2d: cross-correlation through the kernel backend, its sizes, padding modes and gradients."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn, seeds


def naive_cross_correlation(x, w, stride, padding, dilation):
    """The definition, loop by loop:
    y[n, o, i, j] = Σ x_pad[n, c, i·s + a·d, j·s + b·d] w[o, c, a, b]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = xp.shape
    oc, _, kh, kw = w.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, oc, oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            patch = xp[:, :, rows, cols]
            y[:, :, i, j] = np.einsum("ncab,ocab->no", patch, w)
    return y


@given(batch=st.sampled_from([1, 2]), channels=st.sampled_from([1, 3]),
       out_channels=st.sampled_from([1, 2]), size=st.sampled_from([(5, 5), (7, 4)]),
       kernel=st.sampled_from([(1, 1), (3, 3), (2, 3)]), stride=st.sampled_from([1, 2]),
       padding=st.sampled_from([0, 1]), dilation=st.sampled_from([1, 2]), seed=seeds)
def test_matches_the_definition_and_its_gradient(batch, channels, out_channels, size, kernel,
                                                stride, padding, dilation, seed):
    assume(all(dilation * (k - 1) < n + 2 * padding for k, n in zip(kernel, size)))
    x = randn((batch, channels) + size, seed)
    w = randn((out_channels, channels) + kernel, seed + 1)
    b = randn((out_channels,), seed + 2)
    args = dict(stride=stride, padding=padding, dilation=dilation)
    expected = naive_cross_correlation(x.data, w.data, (stride,) * 2, (padding,) * 2,
                                       (dilation,) * 2)
    np.testing.assert_allclose(F.conv2d(x, w, b, **args).data, expected + b.data[:, None, None],
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda *t: F.conv2d(*t, **args), x, w, b)


@pytest.mark.parametrize("n, k, total_pad, stride, expected", [
    (4, 3, 2, 1, 4), (8, 3, 2, 1, 8), (8, 3, 2, 2, 4),
    (8, 3, 0, 3, 2), (8, 5, 2, 4, 2), (6, 3, 0, 1, 4),
])
def test_output_size_is_floor_of_n_minus_k_plus_p_plus_s_over_s(n, k, total_pad, stride, expected):
    y = F.conv2d(dlcore.zeros(1, 1, n, n), dlcore.zeros(1, 1, k, k), stride=stride,
                 padding=total_pad // 2)
    assert (n - k + total_pad + stride) // stride == expected
    assert y.shape == (1, 1, expected, expected)


def test_one_by_one_conv_is_a_linear_layer_per_pixel():
    x, w = dlcore.randn(2, 5, 3, 4), dlcore.randn(6, 5, 1, 1)
    per_pixel = F.linear(x.permute(0, 2, 3, 1).reshape(-1, 5), w.reshape(6, 5))
    np.testing.assert_allclose(F.conv2d(x, w).permute(0, 2, 3, 1).reshape(-1, 6).data,
                               per_pixel.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((2, 4), 1), ((2, 3), 2)])
def test_same_padding_keeps_size_with_the_extra_row_at_the_bottom_right(kernel, dilation):
    x, w = randn((1, 2, 6, 5), 0), randn((3, 2) + kernel, 1)
    y = F.conv2d(x, w, padding="same", dilation=dilation)
    assert y.shape[2:] == x.shape[2:]
    th, tw = (dilation * (k - 1) for k in kernel)
    padded = F.pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2))
    np.testing.assert_allclose(y.data, F.conv2d(padded, w, dilation=dilation).data, rtol=1e-12)
    assert F.conv2d(x, w, padding="valid").shape[2:] == (7 - kernel[0], 6 - kernel[1])


@given(seed=seeds)
def test_groups_are_independent_convolutions(seed):
    x, w, b = randn((2, 4, 5, 5), seed), randn((6, 2, 3, 3), seed + 1), randn((6,), seed + 2)
    y = F.conv2d(x, w, b, groups=2)
    halves = [F.conv2d(x[:, 2 * g: 2 * g + 2], w[3 * g: 3 * g + 3], b[3 * g: 3 * g + 3])
              for g in range(2)]
    np.testing.assert_allclose(y.data, dlcore.cat(halves, 1).data, rtol=1e-12)
    assert gradcheck(lambda *t: F.conv2d(*t, groups=2, stride=2), x, w, b)


class TestErrors:
    def test_int_input(self):
        with pytest.raises(TypeError, match="floating-point input, got dtype int64"):
            F.conv2d(dlcore.zeros(1, 1, 3, 3, dtype=np.int64), dlcore.zeros(1, 1, 1, 1))

    def test_channel_mismatch_names_both_shapes(self):
        with pytest.raises(ValueError, match=r"\(1, 3, 5, 5\).*\(2, 4, 3, 3\)"):
            F.conv2d(dlcore.zeros(1, 3, 5, 5), dlcore.zeros(2, 4, 3, 3))

    def test_not_an_image_batch(self):
        with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
            F.conv2d(dlcore.zeros(3, 5, 5), dlcore.zeros(2, 3, 3, 3))

    def test_same_padding_with_stride(self):
        with pytest.raises(ValueError, match="stride 1"):
            F.conv2d(dlcore.zeros(1, 1, 5, 5), dlcore.zeros(1, 1, 3, 3), stride=2, padding="same")

    def test_unknown_padding(self):
        with pytest.raises(ValueError, match="'same' or 'valid'"):
            F.conv2d(dlcore.zeros(1, 1, 5, 5), dlcore.zeros(1, 1, 3, 3), padding="full")
