"""conv_transpose2d: FEATURES' worked examples, the transpose of conv2d, float64 finite
differences, and PyTorch's values and gradients on odd geometries."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.testing import gradcheck


def t(a, grad=False):
    a = np.asarray(a)
    return dlcore.tensor(a, dtype=a.dtype, requires_grad=grad)


class TestFeatures:
    X = np.array([[[[0.0, 1.0], [2.0, 3.0]]]], np.float32)

    def test_stride_one_scatters_each_input_times_the_kernel(self):
        y = F.conv_transpose2d(t(self.X), t(self.X))
        np.testing.assert_array_equal(y.data[0, 0], [[0, 0, 1], [0, 4, 6], [4, 12, 9]])

    def test_stride_two_spaces_the_scatter(self):
        y = F.conv_transpose2d(t(self.X), t(self.X), stride=2)
        np.testing.assert_array_equal(y.data[0, 0], [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3],
                                                     [4, 6, 6, 9]])

    def test_padding_strips_the_outer_ring(self):
        full = F.conv_transpose2d(t(self.X), t(self.X)).data
        np.testing.assert_array_equal(F.conv_transpose2d(t(self.X), t(self.X), padding=1).data,
                                      full[:, :, 1:-1, 1:-1])

    def test_it_is_the_input_gradient_of_conv2d(self):
        rng = np.random.default_rng(0)
        x = t(rng.standard_normal((2, 4, 9, 8)).astype(np.float32), grad=True)
        w = t(rng.standard_normal((6, 2, 3, 2)).astype(np.float32))
        y = F.conv2d(x, w, stride=2, padding=1, groups=2)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        (y * t(dy)).sum().backward()
        back = F.conv_transpose2d(t(dy), w, stride=2, padding=1, groups=2)
        np.testing.assert_allclose(back.data, x.grad, rtol=1e-5, atol=1e-5)


geometry = st.fixed_dictionaries({
    "n": st.sampled_from([1, 2]), "groups": st.sampled_from([1, 2]),
    "cg": st.sampled_from([1, 3]), "ocg": st.sampled_from([1, 2]),
    "h": st.sampled_from([1, 2, 3, 7]), "w": st.sampled_from([1, 3, 5]),
    "k": st.tuples(st.integers(1, 4), st.integers(1, 3)),
    "stride": st.tuples(st.integers(1, 3), st.integers(1, 2)),
    "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
    "padding": st.tuples(st.integers(0, 2), st.integers(0, 1)),
    "extra": st.tuples(st.integers(0, 2), st.integers(0, 1)),
    "bias": st.booleans(),
})


def case(g, dtype, seed=0):
    """(x, w, b, kwargs) or None where the geometry has no output or no valid output_padding."""
    extra = tuple(min(e, s - 1) for e, s in zip(g["extra"], g["stride"]))
    size = [(i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, s, p, d, k, e in zip(
        (g["h"], g["w"]), g["stride"], g["padding"], g["dilation"], g["k"], extra)]
    if min(size) < 1:
        return None
    rng = np.random.default_rng(seed)
    c = g["cg"] * g["groups"]
    x = rng.standard_normal((g["n"], c, g["h"], g["w"])).astype(dtype)
    w = rng.standard_normal((c, g["ocg"], *g["k"])).astype(dtype)
    b = rng.standard_normal(g["ocg"] * g["groups"]).astype(dtype) if g["bias"] else None
    return x, w, b, dict(stride=g["stride"], padding=g["padding"], output_padding=extra,
                         groups=g["groups"], dilation=g["dilation"])


@settings(max_examples=25, deadline=None)
@given(geometry)
def test_gradients_match_finite_differences_in_float64(g):
    drawn = case(g, np.float64)
    if drawn is None:
        return
    x, w, b, kw = drawn
    inputs = [t(x, True), t(w, True)] + ([t(b, True)] if b is not None else [])
    gradcheck(lambda *a: F.conv_transpose2d(*a, **kw), *inputs)


@settings(max_examples=40, deadline=None)
@given(geometry)
def test_values_and_gradients_match_pytorch(g):
    torch = pytest.importorskip("torch")
    drawn = case(g, np.float32)
    if drawn is None:
        return
    x, w, b, kw = drawn
    ours = [t(a, True) for a in (x, w, b) if a is not None]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    y = F.conv_transpose2d(*ours, **kw)
    ty = torch.nn.functional.conv_transpose2d(*theirs, **kw)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    dy = np.cos(np.arange(y.data.size, dtype=np.float32)).reshape(y.shape)
    (y * t(dy)).sum().backward()
    ty.backward(torch.tensor(dy))
    for a, ta in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_a_non_contiguous_input_gives_the_contiguous_result():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    w = t(rng.standard_normal((3, 2, 3, 3)).astype(np.float32))
    view = t(x.transpose(0, 2, 1, 3))  # (2, 3, 5, 4), strided
    np.testing.assert_array_equal(
        F.conv_transpose2d(view, w, stride=2).data,
        F.conv_transpose2d(t(np.ascontiguousarray(x.transpose(0, 2, 1, 3))), w, stride=2).data)


class TestLayer:
    def test_layout_parameter_count_and_initialisation_follow_pytorch(self):
        torch = pytest.importorskip("torch")
        ours = nn.ConvTranspose2d(6, 4, (3, 2), stride=2, groups=2)
        theirs = torch.nn.ConvTranspose2d(6, 4, (3, 2), stride=2, groups=2)
        assert ours.weight.shape == tuple(theirs.weight.shape) == (6, 2, 3, 2)
        assert ours.bias.shape == (4,)
        bound = 1 / np.sqrt(2 * 3 * 2)  # fan_in = out/groups * kH * kW, as in PyTorch
        assert np.abs(ours.weight.data).max() <= bound
        assert np.abs(ours.weight.data).max() > 0.8 * bound

    def test_a_strided_layer_doubles_the_size_with_output_padding(self):
        layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
        assert layer(dlcore.randn(1, 3, 7, 7)).shape == (1, 2, 14, 14)
        assert "output_padding=(1, 1)" in repr(layer)

    def test_state_dict_loads_into_pytorch(self):
        torch = pytest.importorskip("torch")
        ours = nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1, bias=False)
        theirs = torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1, bias=False)
        theirs.load_state_dict({k: torch.tensor(np.asarray(v))
                                for k, v in ours.state_dict().items()})
        x = np.random.default_rng(2).standard_normal((2, 4, 5, 5)).astype(np.float32)
        np.testing.assert_allclose(ours(t(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)

    @pytest.mark.parametrize("make, match", [
        (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=2), "output_padding"),
        (lambda: nn.ConvTranspose2d(3, 2, 3, groups=2), "divisible by groups"),
        (lambda: nn.ConvTranspose2d(3, 2, 0), "kernel_size"),
        (lambda: nn.ConvTranspose2d(3, 2, 3)(dlcore.randn(1, 2, 4, 4)), "in_channels=3"),
        (lambda: F.conv_transpose2d(dlcore.randn(1, 2, 1, 1), dlcore.randn(2, 1, 1, 1),
                                    padding=1), "leaves no output"),
        (lambda: F.conv_transpose2d(dlcore.randn(1, 3, 4, 4), dlcore.randn(2, 1, 3, 3)),
         "does not match"),
    ])
    def test_bad_arguments_get_one_line_errors(self, make, match):
        with pytest.raises(ValueError, match=match):
            make()
