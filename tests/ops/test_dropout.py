"""Inverted dropout: survivors scaled by 1/(1-p), identity in evaluation."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F

VALUES = [0.3342, 0.8208, 0.3765, 0.1820]


def test_survivors_are_doubled_at_p_one_half_and_the_rest_zeroed():
    dlcore.manual_seed(0)
    x = dlcore.tensor(VALUES)
    y = F.dropout(x, p=0.5).data
    kept = y != 0
    assert 0 < kept.sum() < len(VALUES)
    np.testing.assert_array_equal(y[kept], 2 * x.data[kept])
    assert x.tolist() == pytest.approx(VALUES)  # the input is untouched


def test_evaluation_is_the_identity():
    x = dlcore.tensor(VALUES)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x


def test_expectation_is_the_input():
    dlcore.manual_seed(1)
    y = F.dropout(dlcore.ones(200_000), p=0.3).data
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert (y == 0).mean() == pytest.approx(0.3, abs=0.01)


def test_masks_are_reproducible_and_the_gradient_uses_the_same_mask():
    dlcore.manual_seed(5)
    x = dlcore.ones(50, requires_grad=True)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)
    dlcore.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(dlcore.ones(50), p=0.5).data, y.data)


def test_p_one_drops_everything_and_bad_p_is_refused():
    assert F.dropout(dlcore.ones(3), p=1.0).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(dlcore.ones(3), p=1.5)
