"""Sinusoidal positional encoding (the corrected formula: each sin/cos pair shares a frequency)."""
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn.positional import sinusoidal_encoding


def test_position_zero_is_zero_one_alternating():
    np.testing.assert_array_equal(sinusoidal_encoding([0], 6)[0], [0, 1, 0, 1, 0, 1])


def test_position_one_with_d_8():
    np.testing.assert_allclose(
        sinusoidal_encoding([1], 8)[0],
        [0.8415, 0.5403, 0.0998, 0.9950, 0.0100, 1.0000, 0.0010, 1.0000], atol=5e-5)


def test_each_sine_cosine_pair_shares_a_frequency():
    table = sinusoidal_encoding(np.arange(50), 16)
    assert table.dtype == np.float32
    assert np.abs(table).max() <= 1.0
    np.testing.assert_allclose(table[:, 0::2] ** 2 + table[:, 1::2] ** 2, 1.0, rtol=1e-5)


def test_odd_model_width_ends_on_a_sine():
    table = sinusoidal_encoding(np.arange(3), 5)
    assert table.shape == (3, 5)
    np.testing.assert_allclose(table[:, 4], np.sin(np.arange(3) / 10000 ** (4 / 5)), rtol=1e-6)


def test_fractional_positions_for_noise_levels():
    np.testing.assert_allclose(sinusoidal_encoding([0.5], 2)[0], [np.sin(0.5), np.cos(0.5)],
                               rtol=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_module_adds_the_encoding_along_the_sequence_axis(batch_first):
    encoding = nn.PositionalEncoding(4, max_len=10, batch_first=batch_first)
    x = dlcore.zeros(2, 3, 4)
    out = encoding(x).data
    table = sinusoidal_encoding(np.arange(3 if batch_first else 2), 4)
    expected = np.broadcast_to(table[None] if batch_first else table[:, None], x.shape)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert encoding(dlcore.zeros(3, 4)).shape == (3, 4)


def test_module_keeps_the_table_out_of_the_state_dict_and_the_gradient_flows():
    encoding = nn.PositionalEncoding(4, max_len=10)
    assert list(encoding.state_dict()) == []
    x = dlcore.zeros(3, 1, 4, requires_grad=True)
    encoding(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 1, 4)))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="d_model"):
        sinusoidal_encoding([0], 0)
    with pytest.raises(ValueError, match="max_len=4"):
        nn.PositionalEncoding(4, max_len=4)(dlcore.zeros(5, 1, 4))
    with pytest.raises(ValueError, match=r"\(5, 1, 3\)"):
        nn.PositionalEncoding(4)(dlcore.zeros(5, 1, 3))
