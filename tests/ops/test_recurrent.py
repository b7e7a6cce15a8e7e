"""The whole-sequence recurrent op: equal, in outputs and in every gradient, to the same
recurrence composed of per-step tensor ops (the definition), on float32 through the C
kernels; central differences on float64; odd sizes, length 1, batch 1, both directions."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore.ops.recurrent import GATES, recurrence
from dlcore.testing import gradcheck


def composed(kind, gates_x, state, weight_hh, bias_hh, reverse=False):
    """Step by step with elementary ops: what the fused op must compute."""
    h = state[0]
    c = state[1] if kind == "lstm" else None
    outputs = [None] * gates_x.shape[0]
    for t in (reversed(range(gates_x.shape[0])) if reverse else range(gates_x.shape[0])):
        gx = gates_x[t]
        gh = F.linear(h, weight_hh, bias_hh)
        if kind == "lstm":
            i, f, g, o = (gx + gh).chunk(4, dim=-1)
            c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
            h = F.sigmoid(o) * F.tanh(c)
        elif kind == "gru":
            x_r, x_z, x_n = gx.chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            r, z = F.sigmoid(x_r + h_r), F.sigmoid(x_z + h_z)
            n = F.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
        else:
            h = (F.tanh if kind == "rnn_tanh" else F.relu)(gx + gh)
        outputs[t] = h
    return dlcore.stack(outputs, dim=0), (h,) + ((c,) if c is not None else ())


def inputs(kind, length, batch, hidden, dtype=np.float32, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    gates = GATES[kind]

    def leaf(*shape, scale=1.0):
        data = (rng.standard_normal(shape) * scale).astype(dtype)
        return dlcore.tensor(data, dtype=dtype, requires_grad=True)
    gates_x = leaf(length, batch, gates * hidden)
    state = tuple(leaf(batch, hidden) for _ in range(1 + (kind == "lstm")))
    weight_hh = leaf(gates * hidden, hidden, scale=1 / np.sqrt(hidden))
    bias_hh = leaf(gates * hidden) if bias else None
    return gates_x, state, weight_hh, bias_hh


def loss_of(output, final, seed=1):
    """A fixed random contraction of every result, so every gradient path is used."""
    rng = np.random.default_rng(seed)
    total = (output * dlcore.tensor(rng.standard_normal(output.shape).astype(output.dtype)))
    total = total.sum()
    for s in final:
        total = total + (s * dlcore.tensor(rng.standard_normal(s.shape).astype(s.dtype))).sum()
    return total


def gradients(fn, args):
    leaves = [a for a in (args[0], *args[1], *args[2:]) if a is not None]
    for leaf in leaves:
        leaf.grad = None
    output, final = fn(*args)
    loss_of(output, final).backward()
    return output, final, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("kind", sorted(GATES))
@pytest.mark.parametrize("length, batch, hidden", [(1, 1, 1), (7, 3, 5), (2, 1, 17),
                                                   (13, 4, 3)])
@pytest.mark.parametrize("reverse", [False, True])
def test_equals_the_per_step_composition_with_every_gradient(kind, length, batch, hidden,
                                                             reverse):
    args = inputs(kind, length, batch, hidden, bias=hidden != 5)
    fused = gradients(lambda *a: recurrence(kind, *a, reverse=reverse), args)
    reference = gradients(lambda *a: composed(kind, *a, reverse=reverse), args)
    np.testing.assert_allclose(fused[0].data, reference[0].data, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(fused[1], reference[1]):
        np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(fused[2], reference[2]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(GATES))
@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_match_finite_differences(kind, reverse):
    gates_x, state, weight_hh, bias_hh = inputs(kind, 4, 2, 3, dtype=np.float64)

    def run(gx, *rest):
        output, final = recurrence(kind, gx, rest[:len(state)], rest[len(state)],
                                   rest[len(state) + 1], reverse=reverse)
        return dlcore.cat([output.reshape(-1)] + [s.reshape(-1) for s in final])
    assert gradcheck(run, gates_x, *state, weight_hh, bias_hh)


def test_a_frozen_weight_and_state_get_no_gradient_and_cost_no_error():
    gates_x, state, weight_hh, bias_hh = inputs("lstm", 3, 2, 4)
    weight_hh.requires_grad_(False)
    state = tuple(s.detach() for s in state)
    output, final = recurrence("lstm", gates_x, state, weight_hh, bias_hh)
    loss_of(output, final).backward()
    assert weight_hh.grad is None and gates_x.grad.shape == gates_x.shape
    assert bias_hh.grad.shape == bias_hh.shape


def test_shapes_that_do_not_fit_are_refused_clearly():
    gates_x, state, weight_hh, bias_hh = inputs("gru", 3, 2, 4)
    with pytest.raises(ValueError, match=r"recurrence\('lstm'\).*do not fit"):
        recurrence("lstm", gates_x, state, weight_hh, bias_hh)
    with pytest.raises(ValueError, match="do not fit"):
        recurrence("gru", gates_x, (state[0][:1],), weight_hh, bias_hh)
