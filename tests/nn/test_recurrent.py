"""RNN, LSTM, GRU and their cells: shapes, PyTorch weight layout, gate semantics, gradients."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import nn
from dlcore.testing import gradcheck

BIG = 1e4  # a bias this large saturates a sigmoid gate to exactly 0 or 1 in float32

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def randn(*shape):
    return dlcore.tensor(np.random.default_rng(sum(shape)).standard_normal(shape))


def hidden_of(final):
    """h_n from an RNN/GRU final state or an LSTM (h_n, c_n)."""
    return final[0] if isinstance(final, tuple) else final


def set_gate_bias(module, gate: int, value: float, suffix: str = "") -> None:
    """Sets gate number ``gate``'s block of bias_ih (and zeroes bias_hh's) to saturate it."""
    block = slice(gate * module.hidden_size, (gate + 1) * module.hidden_size)
    getattr(module, f"bias_ih{suffix}").data[block] = value
    getattr(module, f"bias_hh{suffix}").data[block] = 0.0


# --- shapes and parameters ----------------------------------------------------------------------
def test_two_layer_rnn_on_an_unbatched_sequence():
    rnn = nn.RNN(10, 20, num_layers=2)
    output, h_n = rnn(randn(5, 10))
    assert output.shape == (5, 20)
    assert h_n.shape == (2, 20)
    assert [tuple(p.shape) for p in rnn.parameters()] == [
        (20, 10), (20, 20), (20,), (20,), (20, 20), (20, 20), (20,), (20,)]


def test_parameter_names_follow_pytorch():
    names = [name for name, _ in nn.LSTM(3, 4, num_layers=2, bidirectional=True).named_parameters()]
    assert names == [f"{kind}_l{layer}{suffix}"
                     for layer in range(2) for suffix in ("", "_reverse")
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_parameter_count_is_gates_times_hd_plus_hh_plus_2h(kind):
    d, h = 7, 5
    count = sum(p.numel() for p in LAYERS[kind](d, h).parameters())
    assert count == GATES[kind] * (h * d + h * h + 2 * h)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_init_is_uniform_within_one_over_sqrt_hidden(kind):
    bound = 1 / np.sqrt(16)
    values = np.concatenate([p.data.ravel() for p in LAYERS[kind](8, 16).parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound


def test_no_bias_registers_no_bias_parameters():
    names = [name for name, _ in nn.GRU(3, 4, bias=False).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0"]
    output, _ = nn.GRU(3, 4, bias=False)(randn(2, 1, 3))
    assert output.shape == (2, 1, 4)


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["RNN", "LSTM", "GRU"]), length=st.integers(1, 4),
       batch=st.integers(1, 3), hidden=st.integers(1, 4), layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans())
def test_output_and_state_shapes(kind, length, batch, hidden, layers, bidirectional, batch_first):
    module = LAYERS[kind](3, hidden, num_layers=layers, bidirectional=bidirectional,
                          batch_first=batch_first)
    directions = 2 if bidirectional else 1
    x = randn(batch, length, 3) if batch_first else randn(length, batch, 3)
    output, final = module(x)
    expected = (batch, length) if batch_first else (length, batch)
    assert output.shape == expected + (directions * hidden,)
    states = final if kind == "LSTM" else (final,)
    assert all(s.shape == (layers * directions, batch, hidden) for s in states)


# --- gate semantics -----------------------------------------------------------------------------
def test_lstm_with_forget_gate_1_and_input_gate_0_keeps_the_cell_state():
    lstm = nn.LSTM(3, 4)
    set_gate_bias(lstm, 0, -BIG, "_l0")  # i = 0 (gate order i, f, g, o)
    set_gate_bias(lstm, 1, BIG, "_l0")  # f = 1
    h_0, c_0 = randn(1, 2, 4), randn(1, 2, 4) * 3
    _, (h_n, c_n) = lstm(randn(6, 2, 3), (h_0, c_0))
    np.testing.assert_allclose(c_n.data, c_0.data, rtol=0, atol=0)
    assert not np.allclose(h_n.data, h_0.data)


def test_gru_with_update_gate_1_keeps_the_hidden_state():
    gru = nn.GRUCell(3, 4)
    set_gate_bias(gru, 1, BIG)  # z = 1 (gate order r, z, n)
    h = randn(2, 4)
    np.testing.assert_allclose(gru(randn(2, 3), h).data, h.data, rtol=0, atol=0)


def test_gru_with_update_gate_0_takes_the_candidate_state():
    gru = nn.GRUCell(3, 4)
    set_gate_bias(gru, 1, -BIG)  # z = 0
    x, h = randn(2, 3), randn(2, 4)
    w_ih, w_hh, b_ih, b_hh = (p.data for p in gru.parameters())
    gx, gh = x.data @ w_ih.T + b_ih, h.data @ w_hh.T + b_hh
    r = 1 / (1 + np.exp(-(gx[:, :4] + gh[:, :4])))
    candidate = np.tanh(gx[:, 8:] + r * gh[:, 8:])
    np.testing.assert_allclose(gru(x, h).data, candidate, rtol=1e-5, atol=1e-6)


def test_rnn_cell_is_tanh_of_both_projections():
    cell = nn.RNNCell(3, 4)
    x, h = randn(2, 3), randn(2, 4)
    expected = np.tanh(x.data @ cell.weight_ih.data.T + cell.bias_ih.data
                       + h.data @ cell.weight_hh.data.T + cell.bias_hh.data)
    np.testing.assert_allclose(cell(x, h).data, expected, rtol=1e-5, atol=1e-6)
    relu = nn.RNNCell(3, 4, nonlinearity="relu")
    assert (relu(x * 10).data >= 0).all()


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_one_layer_module_runs_its_cell_over_time(kind):
    layer = LAYERS[kind](3, 4)
    cell = getattr(nn, f"{kind}Cell")(3, 4)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data[...] = getattr(layer, f"{name}_l0").data
    x = randn(5, 2, 3)
    output, final = layer(x)
    state = None
    for t in range(5):
        state = cell(x[t], state)
        np.testing.assert_allclose(output.data[t], hidden_of(state).data, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hidden_of(final).data[0], hidden_of(state).data, rtol=1e-6)


def test_unbatched_cell_matches_a_batch_of_one():
    cell = nn.LSTMCell(3, 4)
    x, h, c = randn(3), randn(4), randn(4)
    h1, c1 = cell(x, (h, c))
    hb, cb = cell(x.unsqueeze(0), (h.unsqueeze(0), c.unsqueeze(0)))
    assert h1.shape == c1.shape == (4,)
    np.testing.assert_allclose(h1.data, hb.data[0], rtol=1e-6)
    np.testing.assert_allclose(c1.data, cb.data[0], rtol=1e-6)


# --- stacking, directions, layouts --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_bidirectional_output_concatenates_forward_and_reversed_runs(kind):
    bi = LAYERS[kind](3, 4, bidirectional=True)
    forward, backward = LAYERS[kind](3, 4), LAYERS[kind](3, 4)
    for name, p in forward.named_parameters():
        p.data[...] = getattr(bi, name).data
        getattr(backward, name).data[...] = getattr(bi, name + "_reverse").data
    x = randn(5, 2, 3)
    output, final = bi(x)
    forward_output, forward_final = forward(x)
    reversed_output, reversed_final = backward(dlcore.tensor(x.data[::-1]))
    h_n = hidden_of(final).data
    np.testing.assert_allclose(output.data[..., :4], forward_output.data, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(output.data[..., 4:], reversed_output.data[::-1], rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(h_n[0], hidden_of(forward_final).data[0], rtol=1e-6)
    np.testing.assert_allclose(h_n[1], hidden_of(reversed_final).data[0], rtol=1e-6)


def test_second_layer_reads_the_first_layers_output():
    two = nn.GRU(3, 4, num_layers=2)
    first, second = nn.GRU(3, 4), nn.GRU(4, 4)
    for name, p in first.named_parameters():
        p.data[...] = getattr(two, name).data
        getattr(second, name).data[...] = getattr(two, name.replace("_l0", "_l1")).data
    x = randn(5, 2, 3)
    output, h_n = two(x)
    middle, h_first = first(x)
    expected, h_second = second(middle)
    np.testing.assert_allclose(output.data, expected.data, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h_n.data, np.concatenate([h_first.data, h_second.data]), rtol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_batch_first_is_the_same_computation_transposed(kind):
    seq_first = LAYERS[kind](3, 4, num_layers=2, bidirectional=True)
    batch_first = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True)
    batch_first.load_state_dict(seq_first.state_dict())
    x = randn(5, 2, 3)
    output, final = seq_first(x)
    output_bf, final_bf = batch_first(x.transpose(0, 1))
    np.testing.assert_allclose(output_bf.data, output.data.transpose(1, 0, 2), rtol=1e-6)
    np.testing.assert_allclose(hidden_of(final_bf).data, hidden_of(final).data, rtol=1e-6)


def test_initial_state_is_used_and_defaults_to_zeros():
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = randn(5, 2, 3)
    zeros = (dlcore.zeros(2, 2, 4), dlcore.zeros(2, 2, 4))
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x, zeros)[0].data)
    assert not np.allclose(lstm(x)[0].data, lstm(x, (randn(2, 2, 4), randn(2, 2, 4)))[0].data)


def test_unbatched_sequence_matches_a_batch_of_one():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    x, h_0 = randn(5, 3), randn(4, 4)
    output, h_n = gru(x, h_0)
    output_b, h_n_b = gru(x.unsqueeze(1), h_0.unsqueeze(1))
    assert output.shape == (5, 8) and h_n.shape == (4, 4)
    np.testing.assert_allclose(output.data, output_b.data[:, 0], rtol=1e-6)
    np.testing.assert_allclose(h_n.data, h_n_b.data[:, 0], rtol=1e-6)


def test_dropout_acts_between_layers_only_in_training():
    rnn = nn.RNN(3, 4, num_layers=2, dropout=0.5)
    x = randn(6, 2, 3)
    rnn.eval()
    first, second = rnn(x)[0].data, rnn(x)[0].data
    np.testing.assert_array_equal(first, second)
    rnn.train()
    dlcore.manual_seed(0)
    assert not np.allclose(rnn(x)[0].data, first)


# --- gradients ----------------------------------------------------------------------------------
def assert_gradients_match_finite_differences(module, x, final_of):
    """Autograd vs central differences (float64) for the input and every parameter."""
    module.to(np.float64)

    def run(x, *parameters):
        output, final = module(x)
        return dlcore.cat([output.reshape(-1), final_of(final).reshape(-1)])
    assert gradcheck(run, x, *module.parameters())


def test_lstm_gradients_match_finite_differences():
    dlcore.manual_seed(0)
    lstm = nn.LSTM(2, 3, bidirectional=True)
    x = randn(3, 2, 2).double().requires_grad_()
    assert_gradients_match_finite_differences(lstm, x, lambda final: final[1])  # via c_n


def test_gru_gradients_match_finite_differences():
    dlcore.manual_seed(0)
    gru = nn.GRU(2, 3, num_layers=2)
    x = randn(3, 2, 2).double().requires_grad_()
    assert_gradients_match_finite_differences(gru, x, lambda final: final)


# --- bad input ----------------------------------------------------------------------------------
def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"\(L, N, 3\).*\(5, 2, 4\)"):
        nn.LSTM(3, 4)(randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"\(2, 2, 4\).*\(1, 2, 4\)"):
        nn.GRU(3, 4, num_layers=2)(randn(5, 2, 3), randn(1, 2, 4))
    with pytest.raises(TypeError, match="tuple"):
        nn.LSTM(3, 4)(randn(5, 2, 3), randn(1, 2, 4))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(3, 4\)"):
        nn.RNNCell(3, 4)(randn(2, 3), randn(3, 4))


# --- against PyTorch ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind, options", [
    ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}), ("GRU", {})])
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_pytorch_outputs_and_gradients(kind, options, batch_first):
    torch = pytest.importorskip("torch")
    ours = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, **options)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True,
                                     batch_first=batch_first, **options)
    theirs.load_state_dict({name: torch.from_numpy(p.data.copy())
                            for name, p in ours.named_parameters()})
    x = randn(2, 5, 3) if batch_first else randn(5, 2, 3)
    x.requires_grad_()
    x_torch = torch.from_numpy(x.data.copy()).requires_grad_()

    output, final = ours(x)
    output_torch, final_torch = theirs(x_torch)
    states = final if kind == "LSTM" else (final,)
    states_torch = final_torch if kind == "LSTM" else (final_torch,)
    np.testing.assert_allclose(output.data, output_torch.detach().numpy(), rtol=1e-5, atol=1e-6)
    for s, s_torch in zip(states, states_torch):
        np.testing.assert_allclose(s.data, s_torch.detach().numpy(), rtol=1e-5, atol=1e-6)

    (output.sum() + sum(s.sum() for s in states)).backward()
    (output_torch.sum() + sum(s.sum() for s in states_torch)).backward()
    np.testing.assert_allclose(x.grad, x_torch.grad.numpy(), rtol=1e-4, atol=1e-5)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_cells_match_pytorch(kind):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, f"{kind}Cell")(3, 4)
    theirs = getattr(torch.nn, f"{kind}Cell")(3, 4)
    theirs.load_state_dict({name: torch.from_numpy(p.data.copy())
                            for name, p in ours.named_parameters()})
    x = randn(2, 3)
    state = ours(x, ours(x))
    state_torch = theirs(torch.from_numpy(x.data), theirs(torch.from_numpy(x.data)))
    np.testing.assert_allclose(hidden_of(state).data, hidden_of(state_torch).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
