"""Recurrent cell kernels (the pointwise half of an LSTM / GRU step): the C backend equals the
NumPy reference on every SIMD path and thread count, odd sizes included, and refuses what it
cannot take with the reference's words."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcore.kernels import _c as C
from dlcore.kernels import reference as R

# Gradients through a saturated gate (σ'(x) = σ(1 - σ) with σ within an ulp of 1) differ by
# the cancellation in 1 - σ times the incoming gradient: float32's own limit, PyTorch's too.
# A gradient that is a difference of products of two inputs (GRU's dz = dh (h_prev - n) z(1-z))
# is rounded at the size of those products: atol grows with the inputs' largest square.
TOL = dict(rtol=2e-6, atol=1e-5)


def assert_close(actual, expected):
    """Within float32's accuracy of the values' own scale: the saturated test's gradients reach
    hundreds, where one ulp of a gate moves a small gradient by more than any fixed atol."""
    np.testing.assert_allclose(actual, expected, rtol=3e-5,
                               atol=1e-6 * max(1.0, float(np.abs(expected).max())))


def arrays(seed, n, h, *widths, scale=3.0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n, w * h)) * scale).astype(np.float32) for w in widths]


def lstm_both(gates, c_prev, dh, dc):
    """Forward then backward on each backend: ((h, c, activations), (dgates, dc_prev))."""
    out = []
    for k in (C, R):
        acts = gates.copy()
        h, c = k.lstm_cell_forward(acts, c_prev)
        dgates, dc_prev = k.lstm_cell_backward(acts, c_prev, c, dh, dc.copy())
        out.append((h, c, acts, dgates, dc_prev))
    return out


def gru_both(gx, gh, h_prev, dh):
    out = []
    for k in (C, R):
        gates, h = k.gru_cell_forward(gx, gh, h_prev)
        out.append((gates, h) + k.gru_cell_backward(gates, gh, h_prev, dh))
    return out


CELLS = {"lstm": (lstm_both, (4, 1, 1, 1)),   # gates, c_prev, dh, dc
         "gru": (gru_both, (3, 3, 1, 1))}      # gx, gh, h_prev, dh


@pytest.mark.parametrize("cell", sorted(CELLS))
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_each_cell_matches_the_reference(cell, n, h, seed):
    both, widths = CELLS[cell]
    inputs = arrays(seed, n, h, *widths)
    products = max(float(np.abs(a).max()) for a in inputs) ** 2
    ours, reference = both(*inputs)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a, b, rtol=TOL["rtol"],
                                   atol=max(TOL["atol"], 1e-6 * products))


def test_every_path_and_thread_count_agrees_with_the_reference(cpu_path, threads):
    """A batch large enough to split across threads (N·4H above the parallel threshold), with
    pre-activations from -100 to 100 so that the gates saturate."""
    n, h = 67, 257
    gates, c_prev, dh, dc = arrays(1, n, h, 4, 1, 1, 1, scale=30.0)
    gates[0, :8] = [-100, -20, -1e-5, 0, 1e-5, 20, 100, 0.3]
    results = []
    for count in (1, 2):
        threads(count)
        results.append(lstm_both(gates, c_prev, dh, dc)[0])
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)        # threads split rows, not values
    for a, b in zip(results[0], lstm_both(gates, c_prev, dh, dc)[1]):
        assert_close(a, b)
    gx, gh, h_prev, dgh = arrays(2, n, h, 3, 3, 1, 1, scale=30.0)
    for a, b in zip(*gru_both(gx, gh, h_prev, dgh)):
        assert_close(a, b)


def test_sigmoid_and_tanh_are_accurate_over_the_whole_range():
    x = np.linspace(-60, 60, 400_001, dtype=np.float32)
    gates = np.zeros((x.size, 4), np.float32)
    gates[:, 0], gates[:, 2] = x, x                   # i = σ(x), g = tanh(x)
    C.lstm_cell_forward(gates, np.zeros((x.size, 1), np.float32))
    exact = x.astype(np.float64)
    sigmoid = 1 / (1 + np.exp(-exact))
    np.testing.assert_allclose(gates[:, 0], sigmoid, rtol=3e-7, atol=1e-37)
    np.testing.assert_allclose(gates[:, 2], np.tanh(exact), rtol=4e-7, atol=1e-30)


def test_gru_with_update_gate_one_keeps_the_state_exactly():
    gx, gh, h_prev = arrays(3, 4, 5, 3, 3, 1)
    gx[:, 5:10] = 200.0                               # z = 1
    np.testing.assert_array_equal(C.gru_cell_forward(gx, gh, h_prev)[1], h_prev)


def test_outputs_are_written_into_the_arrays_given_and_inputs_may_be_views():
    gates, c_prev = arrays(4, 3, 6, 4, 1)
    wide = np.repeat(c_prev, 2, axis=1)[:, ::2]       # a non-contiguous view of c_prev
    c, h = np.empty((3, 6), np.float32), np.empty((3, 6), np.float32)
    expected = R.lstm_cell_forward(gates.copy(), c_prev)
    got = C.lstm_cell_forward(gates, wide, c, h)
    assert got[0] is h and got[1] is c
    np.testing.assert_allclose(h, expected[0], **TOL)


@pytest.mark.parametrize("backend", [C, R], ids=["c", "numpy"])
def test_bad_arguments_get_the_same_clear_error_on_both_backends(backend):
    gates, c_prev = arrays(5, 2, 3, 4, 1)
    with pytest.raises(ValueError, match=r"gates must be \(N, 4 \* hidden_size\)"):
        backend.lstm_cell_forward(gates[:, :5], c_prev)
    with pytest.raises(ValueError, match=r"c_prev must have shape \(2, 3\)"):
        backend.lstm_cell_forward(gates, c_prev[:1])
    with pytest.raises(TypeError, match="c_prev is float64"):
        backend.lstm_cell_forward(gates, c_prev.astype(np.float64))
    with pytest.raises(ValueError, match="gates and c_prev overlap"):
        backend.lstm_cell_forward(gates, gates[:, :3])
    with pytest.raises(TypeError, match="ndarray"):
        backend.gru_cell_forward([[0.0] * 3], gates, c_prev)
    with pytest.raises(ValueError, match=r"gx must be \(N, 3 \* hidden_size\)"):
        backend.gru_cell_forward(np.zeros((0, 3), np.float32), gates, c_prev)


def test_c_refuses_float64_and_read_only_outputs():
    gates, c_prev = arrays(6, 2, 3, 4, 1)
    with pytest.raises(TypeError, match="float32 for the C backend"):
        C.lstm_cell_forward(gates.astype(np.float64), c_prev.astype(np.float64))
    gates.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        C.lstm_cell_forward(gates, c_prev)
