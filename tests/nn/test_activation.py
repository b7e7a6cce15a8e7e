"""Activation modules: values from FEATURES §11, shapes kept, PReLU learns its slope."""
import numpy as np
import pytest

import dlcore
from dlcore import nn

X = dlcore.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])


@pytest.mark.parametrize("module, expected", [
    (nn.ReLU(), [0, 0, 0, 0.5, 2]),
    (nn.LeakyReLU(), [-0.02, -0.005, 0, 0.5, 2]),
    (nn.ELU(alpha=2.0), np.where(X.data > 0, X.data, 2 * np.expm1(X.data))),
    (nn.Sigmoid(), 1 / (1 + np.exp(-X.data))),
    (nn.Tanh(), np.tanh(X.data)),
    (nn.SiLU(), X.data / (1 + np.exp(-X.data))),
    (nn.Softplus(), np.log1p(np.exp(X.data))),
    (nn.PReLU(), [-0.5, -0.125, 0, 0.5, 2]),
])
def test_values(module, expected):
    np.testing.assert_allclose(module(X).data, expected, rtol=1e-5, atol=1e-7)


def test_sigmoid_of_zero_is_half():
    assert nn.Sigmoid()(dlcore.zeros(1)).item() == 0.5


def test_gelu_exact_and_tanh_approximation_agree_closely():
    x = dlcore.linspace(-3, 3, 13)
    exact, approx = nn.GELU()(x).data, nn.GELU("tanh")(x).data
    np.testing.assert_allclose(exact, approx, atol=1e-3)
    assert exact[6] == 0


def test_softmax_and_log_softmax_along_the_named_dim():
    x = dlcore.randn(3, 4)
    p = nn.Softmax(dim=1)(x).data
    assert p.shape == (3, 4) and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(x).data, np.log(p), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError):
        nn.Softmax()


def test_prelu_learns_one_slope_per_channel():
    prelu = nn.PReLU(num_parameters=3)
    assert prelu.weight.shape == (3,) and np.all(prelu.weight.data == 0.25)
    x = dlcore.tensor([[-1.0, -2.0, 3.0]])
    prelu(x).sum().backward()
    np.testing.assert_array_equal(prelu.weight.grad, [-1, -2, 0])
    with pytest.raises(ValueError, match=r"PReLU expects input \(N, 3, \.\.\.\)"):
        prelu(dlcore.randn(2, 4))


def test_activations_keep_the_shape():
    x = dlcore.randn(2, 3, 4)
    for module in (nn.ReLU(), nn.GELU(), nn.Softmax(dim=-1), nn.PReLU(3)):
        assert module(x).shape == x.shape
