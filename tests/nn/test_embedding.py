"""Embedding: lookup shape, init, padding row, integer ids only."""
import numpy as np
import pytest

import dlcore
from dlcore import nn


def test_lookup_returns_rows_of_the_weight():
    emb = nn.Embedding(10, 4)
    ids = dlcore.tensor([[1, 2, 3], [3, 0, 9]])
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.data[1, 0], emb.weight.data[3])


def test_weight_starts_standard_normal():
    dlcore.manual_seed(0)
    weight = nn.Embedding(1000, 64).weight.data
    assert weight.mean() == pytest.approx(0, abs=0.01)
    assert weight.std() == pytest.approx(1, rel=0.01)


def test_padding_row_starts_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4 and not emb.weight.data[4].any()
    emb(dlcore.tensor([4, 1, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[4], 0)
    np.testing.assert_array_equal(emb.weight.grad[1], 2)  # repeated ids add up


def test_float_ids_are_refused_with_the_layer_name():
    net = nn.Module()
    net.tokens = nn.Embedding(5, 3)
    with pytest.raises(TypeError, match=r"Embedding 'tokens' expects a Tensor of integer ids, "
                                        r"got float32 input of shape \(2,\)"):
        net.tokens(dlcore.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"indices must be in \[0, 5\)"):
        net.tokens(dlcore.tensor([5]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)
