"""MultiheadAttention: shapes, masks (causal, padding, bool vs float), layouts, PyTorch parity."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import nn
from dlcore.testing import gradcheck

E, HEADS = 8, 2


def randn(*shape, seed=0):
    return dlcore.tensor(np.random.default_rng(seed).standard_normal(shape))


def attention(**options):
    dlcore.manual_seed(0)
    return nn.MultiheadAttention(E, HEADS, **options)


def test_parameters_have_pytorch_names_and_shapes():
    shapes = {name: tuple(p.shape) for name, p in attention().named_parameters()}
    assert shapes == {"in_proj_weight": (3 * E, E), "in_proj_bias": (3 * E,),
                      "out_proj.weight": (E, E), "out_proj.bias": (E,)}
    assert [name for name, _ in attention(bias=False).named_parameters()] == [
        "in_proj_weight", "out_proj.weight"]


def test_shapes_and_weights_that_sum_to_one():
    query, key = randn(4, 3, E), randn(6, 3, E, seed=1)
    output, weights = attention()(query, key, key)
    assert output.shape == (4, 3, E)
    assert weights.shape == (3, 4, 6)
    assert (weights.data >= 0).all()
    np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-6)


@settings(max_examples=20, deadline=None)
@given(heads=st.sampled_from([1, 2, 4]), batch=st.integers(1, 3), length=st.integers(1, 5),
       source=st.integers(1, 5), batch_first=st.booleans())
def test_shapes_for_any_sizes(heads, batch, length, source, batch_first):
    mha = nn.MultiheadAttention(E, heads, batch_first=batch_first)
    query = randn(batch, length, E) if batch_first else randn(length, batch, E)
    key = randn(batch, source, E, seed=1) if batch_first else randn(source, batch, E, seed=1)
    output, weights = mha(query, key, key, average_attn_weights=False)
    assert output.shape == query.shape
    assert weights.shape == (batch, heads, length, source)


def test_per_head_weights_average_to_the_default_weights():
    mha = attention()
    x = randn(5, 2, E)
    _, averaged = mha(x, x, x)
    _, per_head = mha(x, x, x, average_attn_weights=False)
    assert per_head.shape == (2, HEADS, 5, 5)
    np.testing.assert_allclose(per_head.data.mean(1), averaged.data, rtol=1e-6)


def test_need_weights_false_returns_the_same_output_and_no_weights():
    mha = attention()
    x = randn(5, 2, E)
    output, weights = mha(x, x, x, need_weights=False)
    assert weights is None
    np.testing.assert_allclose(output.data, mha(x, x, x)[0].data, rtol=1e-6)


def test_key_padding_mask_zeroes_weights_on_padded_keys():
    mha = attention()
    query, key = randn(3, 2, E), randn(5, 2, E, seed=1)
    padding = np.zeros((2, 5), dtype=bool)
    padding[0, 3:] = padding[1, 4:] = True
    output, weights = mha(query, key, key, key_padding_mask=dlcore.tensor(padding))
    assert (weights.data[0, :, 3:] == 0).all() and (weights.data[1, :, 4:] == 0).all()
    np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-6)
    changed = key.data.copy()
    changed[3:, 0] += 100.0
    changed[4:, 1] -= 100.0
    changed = dlcore.tensor(changed)
    output_changed, _ = mha(query, changed, changed, key_padding_mask=dlcore.tensor(padding))
    np.testing.assert_allclose(output_changed.data, output.data, rtol=1e-5, atol=1e-6)


def test_causal_mask_hides_the_future():
    mha = attention()
    x = randn(6, 2, E)
    output, weights = mha(x, x, x, is_causal=True)
    assert (np.triu(weights.data[0], k=1) == 0).all()
    future = x.data.copy()
    future[4:] = np.random.default_rng(5).standard_normal(future[4:].shape)
    output_future, _ = mha(dlcore.tensor(future), dlcore.tensor(future), dlcore.tensor(future),
                           is_causal=True)
    np.testing.assert_allclose(output_future.data[:4], output.data[:4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(output_future.data[4:], output.data[4:])


def test_boolean_and_float_masks_agree():
    mha = attention()
    x = randn(4, 2, E)
    blocked = np.random.default_rng(3).random((4, 4)) < 0.4
    np.fill_diagonal(blocked, False)  # every query keeps at least one key
    as_bool = mha(x, x, x, attn_mask=dlcore.tensor(blocked))
    as_float = mha(x, x, x, attn_mask=dlcore.tensor(np.where(blocked, -np.inf, 0.0)))
    for ours, theirs in zip(as_bool, as_float):
        np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6)
    assert (as_bool[1].data[:, blocked] == 0).all()


def test_per_head_attn_mask():
    mha = attention()
    x = randn(3, 2, E)
    mask = np.zeros((2 * HEADS, 3, 3), dtype=bool)
    mask[1, :, 0] = True  # batch 0, head 1 may not look at key 0
    _, weights = mha(x, x, x, attn_mask=dlcore.tensor(mask), average_attn_weights=False)
    assert (weights.data[0, 1, :, 0] == 0).all()
    assert (weights.data[0, 0, :, 0] > 0).all() and (weights.data[1, :, :, 0] > 0).all()


def test_batch_first_and_unbatched_layouts_agree():
    seq_first, batch_first = attention(), attention(batch_first=True)
    x = randn(5, 2, E)
    output, weights = seq_first(x, x, x)
    output_bf, weights_bf = batch_first(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1))
    np.testing.assert_allclose(output_bf.data, output.data.transpose(1, 0, 2), rtol=1e-6)
    np.testing.assert_allclose(weights_bf.data, weights.data, rtol=1e-6)
    single = x[:, 0]
    output_1, weights_1 = seq_first(single, single, single)
    assert output_1.shape == (5, E) and weights_1.shape == (5, 5)
    np.testing.assert_allclose(output_1.data, output.data[:, 0], rtol=1e-5, atol=1e-6)


def test_dropout_on_weights_only_in_training():
    mha = attention(dropout=0.5)
    x = randn(5, 2, E)
    mha.eval()
    np.testing.assert_allclose(mha(x, x, x)[1].data.sum(-1), 1.0, rtol=1e-6)
    mha.train()
    dlcore.manual_seed(1)
    dropped = mha(x, x, x)[1].data
    assert (dropped == 0).any()


def test_gradients_match_finite_differences():
    mha = attention().to(np.float64)
    query, key = randn(3, 2, E).double(), randn(4, 2, E, seed=1).double()
    padding = dlcore.tensor(np.array([[False] * 4, [False, False, False, True]]))

    def run(query, key, *parameters):
        return mha(query, key, key, key_padding_mask=padding)[0]
    assert gradcheck(run, query.requires_grad_(), key.requires_grad_(), *mha.parameters())


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    mha = attention()
    x = randn(4, 2, E)
    with pytest.raises(ValueError, match=r"\(4, 2, 7\)"):
        mha(x, randn(4, 2, 7), x)
    with pytest.raises(ValueError, match="batch size"):
        mha(x, randn(4, 3, E), randn(4, 3, E))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(2, 4\)"):
        mha(x, x, x, key_padding_mask=dlcore.tensor(np.zeros((4, 2), dtype=bool)))
    with pytest.raises(ValueError, match="attn_mask"):
        mha(x, x, x, attn_mask=dlcore.zeros(3, 4))
    with pytest.raises(TypeError, match="bool or float"):
        mha(x, x, x, attn_mask=dlcore.zeros(4, 4, dtype=np.int64))


@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_pytorch_outputs_and_gradients(batch_first):
    torch = pytest.importorskip("torch")
    ours = attention(batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=batch_first)
    theirs.load_state_dict({name: torch.from_numpy(p.data.copy())
                            for name, p in ours.named_parameters()})
    query = randn(2, 3, E) if batch_first else randn(3, 2, E)
    key = randn(2, 5, E, seed=1) if batch_first else randn(5, 2, E, seed=1)
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    causal_ish = np.triu(np.ones((3, 5), dtype=bool), k=3)
    query.requires_grad_()
    key.requires_grad_()
    query_t, key_t = (torch.from_numpy(t.data.copy()).requires_grad_() for t in (query, key))

    output, weights = ours(query, key, key, key_padding_mask=dlcore.tensor(padding),
                           attn_mask=dlcore.tensor(causal_ish))
    output_t, weights_t = theirs(query_t, key_t, key_t, key_padding_mask=torch.from_numpy(padding),
                                 attn_mask=torch.from_numpy(causal_ish))
    np.testing.assert_allclose(output.data, output_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.data, weights_t.detach().numpy(), rtol=1e-5, atol=1e-6)

    (output * output).sum().backward()
    (output_t * output_t).sum().backward()
    np.testing.assert_allclose(query.grad, query_t.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(key.grad, key_t.grad.numpy(), rtol=1e-4, atol=1e-5)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
