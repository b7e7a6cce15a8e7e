"""Dropout: inverted scaling in training, identity in evaluation, input untouched."""
import numpy as np
import pytest

import dlcore
from dlcore import nn

X = [0.3342, 0.8208, 0.3765, 0.1820]  # FEATURES §11


def test_training_zeroes_some_and_doubles_the_survivors_at_p_half():
    dlcore.manual_seed(3)
    x = dlcore.tensor(X)
    out = nn.Dropout(0.5)(x).data
    survived = out != 0
    assert 0 < survived.sum() < 4  # this seed keeps some and drops some
    np.testing.assert_allclose(out[survived], 2 * np.float32(X)[survived], rtol=1e-6)
    np.testing.assert_array_equal(x.data, np.float32(X))  # the input is not modified


def test_eval_is_the_identity():
    x = dlcore.randn(4, 5)
    assert nn.Dropout(0.9).eval()(x) is x


def test_expected_output_equals_the_input():
    dlcore.manual_seed(0)
    out = nn.Dropout(0.3)(dlcore.ones(200_000)).data
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.01)


def test_gradient_flows_only_through_survivors():
    x = dlcore.ones(1000, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5"])
def test_bad_probability_is_refused(p):
    with pytest.raises(ValueError, match="Dropout expects a drop probability p in"):
        nn.Dropout(p)
