"""Embedding lookups and one-hot vectors."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore.testing import gradcheck

from .strategies import randn


def test_one_hot_of_0_and_2_with_vocabulary_5():
    assert F.one_hot(dlcore.tensor([0, 2]), 5).tolist() == [[1, 0, 0, 0, 0], [0, 0, 1, 0, 0]]
    assert F.one_hot(dlcore.tensor([[1], [3]])).shape == (2, 1, 4)


def test_one_hot_refuses_out_of_range_and_float_ids():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(dlcore.tensor([3]), 3)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(dlcore.tensor([1.0]), 3)


def test_embedding_looks_up_rows():
    weight = dlcore.arange(12, dtype=np.float32).reshape(4, 3)
    out = F.embedding(dlcore.tensor([[0, 3], [3, 1]]), weight)
    assert out.shape == (2, 2, 3) and out[0, 1].tolist() == [9, 10, 11]


def test_embedding_gradient_adds_repeats_and_skips_padding():
    weight = dlcore.ones(4, 2, requires_grad=True)
    F.embedding(dlcore.tensor([1, 1, 2, 0]), weight, padding_idx=0).sum().backward()
    assert weight.grad.tolist() == [[0, 0], [2, 2], [1, 1], [0, 0]]


def test_embedding_gradcheck():
    assert gradcheck(lambda w: F.embedding(np.array([[0, 2, 2], [1, 0, 4]]), w), randn((5, 3), 0))


def test_embedding_refuses_out_of_range_ids():
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.embedding(dlcore.tensor([4]), dlcore.zeros(4, 2))
