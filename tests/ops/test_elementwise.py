"""Elementwise ops: values, broadcasting, and gradients by finite differences."""
import numpy as np
import pytest
from hypothesis import given

import dlcore
from dlcore.testing import gradcheck

from .strategies import broadcast_pairs, randn, seeds, shapes

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": dlcore.maximum,
    "minimum": dlcore.minimum,
}


@pytest.mark.parametrize("op", BINARY)
@given(pair=broadcast_pairs(), seed=seeds)
def test_binary_gradients_sum_back_to_each_broadcast_input(op, pair, seed):
    (shape_a, shape_b), _ = pair
    low = 0.5 if op in ("div", "pow") else None  # keep away from 0 and negative bases
    a, b = randn(shape_a, seed, low=low), randn(shape_b, seed + 1, low=low)
    assert gradcheck(BINARY[op], a, b)


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "abs", "neg", "clone"])
@given(shape=shapes(), seed=seeds)
def test_unary_gradients(op, shape, seed):
    x = randn(shape, seed, low=0.5 if op in ("log", "sqrt") else None)
    assert gradcheck(lambda t: getattr(t, op)() if op != "neg" else -t, x)


@given(shape=shapes(), seed=seeds)
def test_python_numbers_on_either_side(shape, seed):
    x = randn(shape, seed, low=0.5)
    assert gradcheck(lambda t: 2 - t + 3 * t / 4 - 1 / t + 2 ** t + t ** 3, x)


def test_python_numbers_keep_float32():
    x = dlcore.ones(2)
    for result in (x + 1.5, 2.0 * x, x / 3, 1 - x, x ** 2, 2 ** x):
        assert result.dtype == np.float32


def test_abs_has_zero_gradient_at_zero():
    x = dlcore.tensor([0.0, -2.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [0, -1, 1]


def test_clamp_passes_gradient_inside_the_bounds_only():
    x = dlcore.tensor([-2.0, -1.0, 0.5, 1.0, 3.0], requires_grad=True)
    y = x.clamp(-1, 1)
    y.sum().backward()
    assert y.tolist() == [-1, -1, 0.5, 1, 1]
    assert x.grad.tolist() == [0, 1, 1, 1, 0]
    with pytest.raises(ValueError, match="min and max"):
        x.clamp()


@given(shape=shapes(), seed=seeds)
def test_clamp_gradient(shape, seed):
    assert gradcheck(lambda t: t.clamp(min=-0.5, max=0.7), randn(shape, seed))


def test_maximum_splits_ties():
    a = dlcore.tensor([1.0, 2.0], requires_grad=True)
    b = dlcore.tensor([1.0, 0.0], requires_grad=True)
    dlcore.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1] and b.grad.tolist() == [0.5, 0]


@given(pair=broadcast_pairs(), seed=seeds)
def test_where_routes_gradient_by_condition(pair, seed):
    (shape_a, shape_b), result = pair
    condition = np.random.default_rng(seed).random(result) > 0.5
    a, b = randn(shape_a, seed), randn(shape_b, seed + 1)
    assert gradcheck(lambda x, y: dlcore.where(condition, x, y), a, b)


def test_where_accepts_a_number_and_refuses_non_bool_conditions():
    x = dlcore.tensor([1.0, -1.0])
    assert dlcore.where(x > 0, x, 0.0).tolist() == [1, 0]
    with pytest.raises(TypeError, match="bool condition"):
        dlcore.where(x, x, 0.0)


@given(shape=shapes(min_dims=2), seed=seeds)
def test_masked_fill(shape, seed):
    x = randn(shape, seed)
    mask = np.random.default_rng(seed).random(shape[-1:]) > 0.5
    filled = x.masked_fill(mask, -7.0)
    assert np.all(filled.data[..., mask] == -7)
    assert np.all(filled.data[..., ~mask] == x.data[..., ~mask])
    assert gradcheck(lambda t: t.masked_fill(mask, -7.0), x)


def test_masked_fill_refuses_a_mask_larger_than_the_input():
    with pytest.raises(ValueError, match="does not broadcast"):
        dlcore.zeros(3).masked_fill(np.ones((2, 3), dtype=bool), 1.0)


def test_float_casts_are_differentiable():
    x = dlcore.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3, 3]
