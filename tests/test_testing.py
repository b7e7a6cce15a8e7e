"""dlcore.testing.gradcheck: it must catch wrong gradients, not only pass right ones."""
import numpy as np
import pytest

import dlcore
from dlcore.tensor import Tensor
from dlcore.testing import gradcheck


def test_passes_a_correct_gradient():
    x = dlcore.tensor(np.linspace(-1, 1, 5), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(), x)


def test_catches_a_wrong_gradient():
    def wrong_square(t):
        return Tensor._make(t.data ** 2, (t,), lambda g: (g * t.data,))  # forgot the factor 2
    x = dlcore.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="input 0 of shape"):
        gradcheck(wrong_square, x)


def test_needs_float64_inputs_that_require_grad():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t.sum(), dlcore.ones(2, requires_grad=True))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t.sum(), dlcore.ones(2, dtype=np.float64))
