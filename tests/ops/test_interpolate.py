"""F.interpolate: FEATURES' nearest ×2 fact, PyTorch's index conventions (forward and backward,
odd shapes, scale factors that are not out/in, align_corners, downsampling), float64 gradient
checks, a shape fuzz, and the argument errors."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.ops import resample
from dlcore.testing import gradcheck

from .strategies import randn

MODES = [dict(mode="nearest"), dict(mode="bilinear"),
         dict(mode="bilinear", align_corners=True)]
SPECS = [dict(scale_factor=s) for s in (2, 3, 1.5, 0.5, 1.2, (2, 3), (0.5, 1.7))] + \
        [dict(size=s) for s in ((5, 11), 1, (7, 3))] + \
        [dict(scale_factor=s, recompute_scale_factor=True) for s in (1.5, 0.34)]
SHAPES = [(1, 1, 1, 1), (2, 3, 3, 7), (1, 2, 7, 3)]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def arrays(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def compare(torch, x, exact=False, **options):
    """Forward and input gradient of ours against PyTorch's on the array x (any strides);
    where PyTorch refuses the arguments, ours must too."""
    try:
        reference = torch.from_numpy(x.copy()).requires_grad_()
        expected = torch.nn.functional.interpolate(reference, **options)
    except (RuntimeError, ValueError) as refusal:
        with pytest.raises(ValueError):
            F.interpolate(dlcore.from_numpy(x), **options)
        return refusal
    mine = dlcore.tensor(x, dtype=x.dtype, requires_grad=True)
    out = F.interpolate(mine, **options)
    assert out.dtype == x.dtype and out.shape == tuple(expected.shape)
    tolerance = dict(rtol=0, atol=0) if exact else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    cotangent = arrays(out.shape, seed=1, dtype=x.dtype)
    out.backward(cotangent)
    expected.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-5, atol=1e-5)
    return None


def test_nearest_x2_repeats_each_row_and_column():
    """FEATURES §1: upsample nearest ×2 repeats rows and columns; its gradient sums each 2×2."""
    x = dlcore.tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3), requires_grad=True)
    y = F.interpolate(x, scale_factor=2)
    assert y.tolist() == [[[[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2],
                            [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[[4, 4, 4], [4, 4, 4]]]]


def test_bilinear_values_of_pytorchs_documentation():
    x = dlcore.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2, mode="bilinear").data[0, 0],
                               [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5],
                                [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]])
    corners = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(corners.data[0, 0, 0], [1, 4 / 3, 5 / 3, 2], rtol=1e-6)


@pytest.mark.parametrize("in_size, factor", [(7, 1.5), (3, 0.5), (5, 0.34), (1, 3), (7, 2.9)])
def test_output_size_is_the_floor_of_input_times_scale(in_size, factor):
    out = F.interpolate(dlcore.zeros(1, 1, in_size, 2), scale_factor=(factor, 1))
    assert out.shape == (1, 1, math.floor(in_size * factor), 2)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("mode", MODES)
def test_forward_and_backward_match_pytorch(torch, shape, spec, mode):
    compare(torch, arrays(shape), exact=mode["mode"] == "nearest", **spec, **mode)


@pytest.mark.parametrize("spec", [dict(scale_factor=2), dict(scale_factor=0.6),
                                  dict(size=(5, 11)), dict(size=(2, 1))])
@pytest.mark.parametrize("mode", MODES)
def test_non_contiguous_input_matches_pytorch(torch, spec, mode):
    x = arrays((2, 3, 7, 4)).transpose(0, 1, 3, 2)  # a transposed view, as from .transpose(2, 3)
    compare(torch, x, **spec, **mode)
    view = dlcore.tensor(arrays((2, 3, 7, 4)), requires_grad=True).transpose(2, 3)
    assert not view.data.flags.c_contiguous
    np.testing.assert_array_equal(F.interpolate(view, **spec, **mode).data,
                                  F.interpolate(view.contiguous(), **spec, **mode).data)


@pytest.mark.parametrize("spec", [dict(scale_factor=2), dict(scale_factor=1.7),
                                  dict(size=(3, 600)), dict(scale_factor=(1, 0.3))])
@pytest.mark.parametrize("mode", MODES[1:])
def test_long_axes_gather_two_taps_and_match_pytorch(torch, monkeypatch, spec, mode):
    """Past ``_DENSE_MAX_IN`` an axis gathers its two taps instead of a dense matrix product;
    forcing every axis onto that path must not change a result."""
    compare(torch, arrays((1, 2, 3, 300)), **spec, **mode)
    monkeypatch.setattr(resample, "_DENSE_MAX_IN", 0)
    for shape in SHAPES:
        compare(torch, arrays(shape), **spec, **mode)


@pytest.mark.parametrize("options", [dict(mode="linear", size=9),
                                     dict(mode="linear", scale_factor=1.5, align_corners=True),
                                     dict(mode="linear", scale_factor=0.4),
                                     dict(mode="nearest", scale_factor=0.6),
                                     dict(mode="nearest", size=(12,))])
def test_one_dimensional_input_matches_pytorch(torch, options):
    compare(torch, arrays((2, 3, 7)), exact=options["mode"] == "nearest", **options)


@pytest.mark.parametrize("mode", MODES)
def test_float64_matches_pytorch(torch, mode):
    compare(torch, arrays((2, 2, 3, 7), dtype=np.float64), scale_factor=(1.5, 0.6), **mode)


@pytest.mark.parametrize("spec", [dict(scale_factor=2), dict(scale_factor=(1.5, 0.6)),
                                  dict(size=(5, 2))])
@pytest.mark.parametrize("mode", MODES)
def test_gradients(spec, mode):
    assert gradcheck(lambda t: F.interpolate(t, **spec, **mode), randn((1, 2, 3, 4)))


def test_gradients_of_the_two_tap_path(monkeypatch):
    monkeypatch.setattr(resample, "_DENSE_MAX_IN", 0)
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=(1.5, 0.6), mode="bilinear"),
                     randn((1, 2, 3, 4)))


SIDES = st.integers(1, 9)
RESIZES = st.one_of(
    st.tuples(SIDES, SIDES).map(lambda size: dict(size=size)),
    st.sampled_from([0.5, 0.7, 1, 1.3, 2, 2.5, 3]).map(lambda f: dict(scale_factor=f)),
    st.sampled_from([0.6, 1.4, 2.2]).map(
        lambda f: dict(scale_factor=f, recompute_scale_factor=True)))


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=SIDES, w=SIDES, resize=RESIZES,
       mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_shape_fuzz(torch, n, c, h, w, resize, mode, seed):
    x = arrays((n, c, h, w), seed)
    compare(torch, x, exact=mode["mode"] == "nearest", **resize, **mode)


@given(h=SIDES, w=SIDES, resize=RESIZES, mode=st.sampled_from(MODES))
def test_constants_stay_and_gradients_keep_their_total(h, w, resize, mode):
    """Each output is a convex combination of inputs: a constant image stays constant, and the
    gradient spreads each output's cotangent over its sources without loss."""
    x = dlcore.full((1, 2, h, w), 0.75, dtype=np.float64).requires_grad_()
    try:
        y = F.interpolate(x, **resize, **mode)
    except ValueError:  # an empty output
        assert min(math.floor(s * resize["scale_factor"]) for s in (h, w)) == 0
        return
    np.testing.assert_allclose(y.data, 0.75, rtol=1e-12)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(x.grad.sum(), y.data.size, rtol=1e-12)


def test_the_input_dtype_is_kept():
    for dtype in (np.float32, np.float64):
        x = dlcore.zeros(1, 1, 3, 3, dtype=dtype)
        assert F.interpolate(x, size=5, mode="bilinear").dtype == dtype
        assert F.interpolate(x, scale_factor=1.5).dtype == dtype


@pytest.mark.parametrize("call, error, message", [
    (dict(size=4, scale_factor=2), ValueError,
     r"interpolate: give exactly one of size and scale_factor, got both"),
    (dict(), ValueError, r"interpolate: give exactly one of size and scale_factor, got neither"),
    (dict(scale_factor=0), ValueError, r"interpolate: scale_factor must be in \(0, inf\)"),
    (dict(scale_factor=(2, -1)), ValueError, r"interpolate: scale_factor must be in \(0, inf\)"),
    (dict(scale_factor="2"), TypeError, r"interpolate: scale_factor must be a real number"),
    (dict(scale_factor=0.2), ValueError,
     r"interpolate: scale_factor=0.2 makes an empty output \(0, 1\) from spatial size \(3, 7\)"),
    (dict(size=(0, 3)), ValueError, r"interpolate: size must be a positive int, got 0"),
    (dict(size=(2, 3, 4)), ValueError,
     r"interpolate: size=\(2, 3, 4\) has 3 entries for the 2 spatial dims"),
    (dict(size=4, mode="bicubic"), ValueError,
     r"interpolate: mode must be one of 'nearest', 'linear', 'bilinear', got 'bicubic'"),
    (dict(size=4, align_corners=False), ValueError,
     r"interpolate: align_corners can only be set with the interpolating modes"),
    (dict(size=4, mode="bilinear", recompute_scale_factor=True), ValueError,
     r"interpolate: recompute_scale_factor is not meaningful with an explicit size"),
    (dict(size=4, mode="linear"), ValueError,
     r"interpolate with mode='linear' expects input \(N, C, L\), got input of shape "
     r"\(1, 1, 3, 7\)"),
    (dict(size=4, mode="bilinear", antialias=True), ValueError,
     r"interpolate: antialias=True is not supported"),
])
def test_bad_arguments_are_refused_naming_the_option(call, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(dlcore.zeros(1, 1, 3, 7), **call)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"interpolate with mode='bilinear' expects input "
                                         r"\(N, C, H, W\), got input of shape \(2, 3\)"):
        F.interpolate(dlcore.zeros(2, 3), size=4, mode="bilinear")
    with pytest.raises(ValueError, match=r"\(N, C, L\) or \(N, C, H, W\), got input of shape "
                                         r"\(1, 1, 2, 2, 2\)"):
        F.interpolate(dlcore.zeros(1, 1, 2, 2, 2), size=4)
    with pytest.raises(TypeError, match="interpolate expects a floating-point input"):
        F.interpolate(dlcore.zeros(1, 1, 2, 2, dtype=np.int64), size=4)
    with pytest.raises(TypeError, match="interpolate expects a Tensor, got ndarray"):
        F.interpolate(np.zeros((1, 1, 2, 2), np.float32), size=4)
    with pytest.raises(ValueError, match="non-empty spatial dims"):
        F.interpolate(dlcore.zeros(1, 1, 0, 2), size=4)


def test_an_empty_batch_keeps_its_shape():
    for mode in MODES:
        x = dlcore.zeros(0, 3, 4, 5, requires_grad=True)
        y = F.interpolate(x, scale_factor=1.5, **mode)
        assert y.shape == (0, 3, 6, 7)
        y.backward(np.zeros(y.shape, np.float32))
        assert x.grad.shape == x.shape
