"""Shape ops move elements; their gradients move back."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn, seeds, shapes


@given(shape=shapes(min_dims=2), seed=seeds)
def test_reshape_view_flatten(shape, seed):
    x = randn(shape, seed)
    assert x.reshape(-1).shape == (x.numel(),) and x.view(x.numel()).shape == (x.numel(),)
    assert x.flatten(1).shape == (shape[0], int(np.prod(shape[1:])))
    flipped = shape[::-1]
    assert gradcheck(lambda t: t.reshape(flipped) * np.arange(x.numel()).reshape(flipped), x)
    assert gradcheck(lambda t: t.flatten() * np.arange(x.numel()), x)


def test_flatten_images_from_start_dim_1():
    assert dlcore.zeros(3, 28, 28).flatten(1).shape == (3, 784)


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\) to \(4,\)"):
        dlcore.zeros(2, 3).reshape(4)


@given(shape=shapes(min_dims=2), seed=seeds, data=st.data())
def test_transpose_and_permute(shape, seed, data):
    x = randn(shape, seed)
    order = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(x.permute(*order).data, x.data.transpose(order))
    np.testing.assert_array_equal(x.transpose(0, -1).data, np.swapaxes(x.data, 0, -1))
    weights = np.random.default_rng(seed).standard_normal(x.data.transpose(order).shape)
    assert gradcheck(lambda t: t.permute(order) * weights, x)
    assert gradcheck(lambda t: t.transpose(0, -1).T, x)


def test_permute_needs_every_dim_once():
    with pytest.raises(ValueError, match="each of its 2 dims once"):
        dlcore.zeros(2, 3).permute(0, 0)


def test_squeeze_unsqueeze():
    x = dlcore.zeros(1, 3, 1)
    assert x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1)
    assert x.squeeze(1).shape == (1, 3, 1)  # not of size 1: unchanged, as in PyTorch
    assert x.unsqueeze(0).shape == (1, 1, 3, 1) and x.unsqueeze(-1).shape == (1, 3, 1, 1)
    with pytest.raises(IndexError):
        x.unsqueeze(5)


@given(seed=seeds)
def test_expand_sums_the_gradient_back(seed):
    x = randn((3, 1), seed)
    assert x.expand(2, 3, 4).shape == (2, 3, 4) and x.expand(-1, 5).shape == (3, 5)
    assert gradcheck(lambda t: t.expand(2, 3, 4), x)
    with pytest.raises(ValueError, match="cannot expand"):
        x.expand(2, 2)


@given(shape=shapes(min_dims=2), seed=seeds)
def test_basic_indexing(shape, seed):
    x = randn(shape, seed)
    for index in ((0,), (slice(None), -1), (Ellipsis, slice(0, None, 2)), (None, 0)):
        np.testing.assert_array_equal(x[index].data, x.data[index])
        assert gradcheck(lambda t: t[index], x)


@given(shape=shapes(), seed=seeds)
def test_integer_array_indexing_adds_repeated_gradients(shape, seed):
    x = randn(shape, seed)
    rows = np.random.default_rng(seed).integers(0, shape[0], size=5)
    assert gradcheck(lambda t: t[rows], x)
    assert gradcheck(lambda t: t[dlcore.tensor(rows)], x)
    counts = np.bincount(rows, minlength=shape[0])
    y = dlcore.ones(shape, requires_grad=True)
    y[rows].sum().backward()
    np.testing.assert_array_equal(y.grad.reshape(shape[0], -1)[:, 0], counts)


def test_boolean_mask_indexing():
    x = dlcore.tensor([1.0, -2.0, 3.0], requires_grad=True)
    x[x > 0].sum().backward()
    assert x.grad.tolist() == [1, 0, 1]


@given(shape=shapes(min_dims=2), seed=seeds, count=st.integers(1, 3), data=st.data())
def test_cat_and_stack(shape, seed, count, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    tensors = [randn(shape, seed + i) for i in range(count)]
    np.testing.assert_array_equal(dlcore.cat(tensors, dim).data,
                                  np.concatenate([t.data for t in tensors], dim))
    np.testing.assert_array_equal(dlcore.stack(tensors, dim).data,
                                  np.stack([t.data for t in tensors], dim))
    assert gradcheck(lambda *ts: dlcore.cat(ts, dim), *tensors)
    assert gradcheck(lambda *ts: dlcore.stack(ts, dim), *tensors)


def test_cat_and_stack_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\[\(2, 3\), \(2, 4\)\]"):
        dlcore.cat([dlcore.zeros(2, 3), dlcore.zeros(2, 4)])
    with pytest.raises(ValueError, match="one shape"):
        dlcore.stack([dlcore.zeros(2), dlcore.zeros(3)])
    with pytest.raises(TypeError, match="non-empty"):
        dlcore.cat([])


@given(length=st.sampled_from([1, 3, 7]), size=st.integers(1, 4), seed=seeds)
def test_split_and_chunk(length, size, seed):
    x = randn((2, length), seed)
    pieces = x.split(size, dim=1)
    assert [p.shape[1] for p in pieces] == [len(c) for c in np.array_split(
        np.arange(length), range(size, length, size))]
    assert gradcheck(
        lambda t: dlcore.cat([p * (i + 1) for i, p in enumerate(t.split(size, 1))], 1), x)
    chunks = dlcore.chunk(x, size, dim=1)
    assert sum(c.shape[1] for c in chunks) == length and len(chunks) <= size


def test_split_by_sizes():
    a, b = dlcore.arange(5).split([2, 3])
    assert a.tolist() == [0, 1] and b.tolist() == [2, 3, 4]
    with pytest.raises(ValueError, match="add up"):
        dlcore.arange(5).split([2, 2])


@given(seed=seeds)
def test_index_select_with_repeats(seed):
    x = randn((3, 4), seed)
    assert gradcheck(lambda t: t.index_select(1, [0, 0, 3]), x)


class TestPad:
    def test_constant_pads_the_last_dims_first(self):
        x = dlcore.ones(1, 2)
        y = F.pad(x, (1, 2, 1, 0), value=5)
        assert y.shape == (2, 5) and y.tolist()[0] == [5] * 5 and y.tolist()[1] == [5, 1, 1, 5, 5]

    def test_reflect_does_not_repeat_the_edge(self):
        x = dlcore.tensor([[1.0, 2.0, 3.0]])
        assert F.pad(x, (2, 2), mode="reflect").tolist() == [[3, 2, 1, 2, 3, 2, 1]]
        assert F.pad(x, (0, 2), mode="reflect").tolist() == [[1, 2, 3, 2, 1]]

    def test_replicate_and_circular(self):
        x = dlcore.tensor([[1.0, 2.0, 3.0]])
        assert F.pad(x, (1, 1), mode="replicate").tolist() == [[1, 1, 2, 3, 3]]
        assert F.pad(x, (1, 1), mode="circular").tolist() == [[3, 1, 2, 3, 1]]

    @pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
    @given(seed=seeds)
    def test_gradients(self, mode, seed):
        x = randn((2, 3, 4), seed)
        assert gradcheck(lambda t: F.pad(t, (1, 2, 2, 1), mode=mode), x)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="pairs"):
            F.pad(dlcore.zeros(2), (1,))
        with pytest.raises(ValueError, match="pad: mode must be one of"):
            F.pad(dlcore.zeros(2), (1, 1), mode="mirror")
