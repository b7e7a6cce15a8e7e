"""nn.init: the bounds and spreads of Xavier/He and the plain fills (PyTorch's formulas)."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn import init


@pytest.fixture
def weight():
    dlcore.manual_seed(0)
    return nn.Parameter(np.empty((256, 128, 3, 3), dtype=np.float32))  # fan_in 1152, fan_out 2304


def test_fans_of_linear_and_conv_weights(weight):
    assert init.fans(weight) == (1152, 2304)
    assert init.fans(dlcore.zeros(10, 20)) == (20, 10)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans(dlcore.zeros(5))


def test_xavier_uniform_bound_and_variance(weight):
    init.xavier_uniform_(weight)
    bound = math.sqrt(6 / (1152 + 2304))
    assert np.abs(weight.data).max() <= bound and np.abs(weight.data).max() > 0.99 * bound
    assert weight.data.var() == pytest.approx(2 / (1152 + 2304), rel=0.02)


def test_xavier_normal_std(weight):
    init.xavier_normal_(weight, gain=2.0)
    assert weight.data.std() == pytest.approx(2 * math.sqrt(2 / (1152 + 2304)), rel=0.02)


def test_kaiming_normal_relu_std_is_root_2_over_fan_in(weight):
    init.kaiming_normal_(weight, nonlinearity="relu")
    assert weight.data.mean() == pytest.approx(0, abs=1e-3)
    assert weight.data.std() == pytest.approx(math.sqrt(2 / 1152), rel=0.02)


def test_kaiming_uniform_bound_fan_out(weight):
    init.kaiming_uniform_(weight, mode="fan_out", nonlinearity="relu")
    bound = math.sqrt(3) * math.sqrt(2 / 2304)
    assert np.abs(weight.data).max() <= bound and np.abs(weight.data).max() > 0.99 * bound


def test_plain_fills(weight):
    assert init.zeros_(weight) is weight and not weight.data.any()
    assert np.all(init.ones_(weight).data == 1)
    assert np.all(init.constant_(weight, 0.5).data == 0.5)
    init.uniform_(weight, -0.1, 0.3)
    assert weight.data.min() >= -0.1 and weight.data.max() <= 0.3
    init.normal_(weight, mean=1.0, std=0.1)
    assert weight.data.mean() == pytest.approx(1.0, abs=1e-3)
    assert weight.data.std() == pytest.approx(0.1, rel=0.02)


def test_initialisers_write_in_place_and_are_seeded(weight):
    data = weight.data
    dlcore.manual_seed(5)
    first = init.normal_(weight).data.copy()
    dlcore.manual_seed(5)
    init.normal_(weight)
    assert weight.data is data
    np.testing.assert_array_equal(weight.data, first)


def test_gains():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_bad_arguments_are_refused(weight):
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(weight, mode="fan_avg")
    with pytest.raises(TypeError, match="floating tensor"):
        init.zeros_(dlcore.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="got ndarray"):
        init.zeros_(np.zeros(3))
