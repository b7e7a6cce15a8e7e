"""Transformer layers, stacks and model: residual/norm wiring, masks, PyTorch parity."""
import numpy as np
import pytest

import dlcore
from dlcore import nn

D, HEADS, FF = 8, 2, 16


def randn(*shape, seed=0):
    return dlcore.tensor(np.random.default_rng(seed).standard_normal(shape))


def encoder_layer(**options):
    dlcore.manual_seed(0)
    return nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.0, **options)


def decoder_layer(**options):
    dlcore.manual_seed(0)
    return nn.TransformerDecoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.0, **options)


def small_transformer(**options):
    dlcore.manual_seed(0)
    return nn.Transformer(D, HEADS, num_encoder_layers=2, num_decoder_layers=2,
                          dim_feedforward=FF, dropout=0.0, **options)


def test_square_subsequent_mask_is_minus_infinity_above_the_diagonal():
    mask = nn.Transformer.generate_square_subsequent_mask(3).data
    np.testing.assert_array_equal(mask, [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])


@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_keep_the_shape(norm_first):
    src, tgt = randn(5, 2, D), randn(4, 2, D, seed=1)
    memory = encoder_layer(norm_first=norm_first)(src)
    assert memory.shape == (5, 2, D)
    assert decoder_layer(norm_first=norm_first)(tgt, memory).shape == (4, 2, D)


def test_post_norm_output_is_normalised_per_position():
    out = encoder_layer()(randn(5, 2, D)).data
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(-1), 1.0, rtol=1e-3)


def test_encoder_stacks_independent_copies_with_a_final_norm():
    layer = encoder_layer()
    encoder = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(D))
    per_layer = sum(p.numel() for p in layer.parameters())
    assert sum(p.numel() for p in encoder.parameters()) == 3 * per_layer + 2 * D
    first, second = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    assert first is not second and first is not layer.linear1.weight
    first.data += 1.0
    assert not np.allclose(first.data, second.data)


def test_transformer_parameter_names_match_pytorch():
    names = {name for name, _ in small_transformer().named_parameters()}
    assert "encoder.layers.1.self_attn.in_proj_weight" in names
    assert "decoder.layers.0.multihead_attn.out_proj.weight" in names
    assert {"encoder.norm.weight", "encoder.norm.bias", "decoder.norm.weight",
            "decoder.norm.bias"} <= names
    assert len(names) == 2 * 12 + 2 * 18 + 4


def test_causal_decoder_output_ignores_future_target_tokens():
    model = small_transformer()
    src, tgt = randn(5, 2, D), randn(4, 2, D, seed=1)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    output = model(src, tgt, tgt_mask=mask).data
    changed = tgt.data.copy()
    changed[2:] = np.random.default_rng(9).standard_normal(changed[2:].shape)
    output_changed = model(src, dlcore.tensor(changed), tgt_mask=mask).data
    np.testing.assert_allclose(output_changed[:2], output[:2], rtol=1e-5, atol=1e-5)
    assert not np.allclose(output_changed[2:], output[2:])


def test_is_causal_flag_equals_the_explicit_causal_mask():
    layer = decoder_layer()
    tgt, memory = randn(4, 2, D), randn(5, 2, D, seed=1)
    explicit = layer(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4))
    np.testing.assert_allclose(layer(tgt, memory, tgt_is_causal=True).data, explicit.data,
                               rtol=1e-6)


def test_src_key_padding_mask_makes_padded_source_positions_irrelevant():
    model = small_transformer(batch_first=True)
    src, tgt = randn(2, 5, D), randn(2, 3, D, seed=1)
    padding = dlcore.tensor(np.array([[False] * 5, [False, False, False, True, True]]))
    output = model(src, tgt, src_key_padding_mask=padding, memory_key_padding_mask=padding).data
    changed = src.data.copy()
    changed[1, 3:] += 50.0
    output_changed = model(dlcore.tensor(changed), tgt, src_key_padding_mask=padding,
                           memory_key_padding_mask=padding).data
    np.testing.assert_allclose(output_changed, output, rtol=1e-5, atol=1e-5)


def test_dropout_is_identity_in_eval_mode():
    dlcore.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.5)
    x = randn(5, 2, D)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not np.allclose(layer(x).data, layer(x).data)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(D, HEADS, activation="swish")
    with pytest.raises(ValueError, match="batch size"):
        small_transformer()(randn(5, 2, D), randn(4, 3, D))
    with pytest.raises(ValueError, match="d_model=8"):
        small_transformer()(randn(5, 2, D), randn(4, 2, 6))


# --- against PyTorch ----------------------------------------------------------------------------
def _load_into_torch(ours, theirs, torch):
    theirs.load_state_dict({name: torch.from_numpy(p.data.copy())
                            for name, p in ours.named_parameters()})
    theirs.train()  # dropout is 0; train mode keeps PyTorch on its plain (non-fused) path


def _assert_grads_match(ours, theirs):
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_pytorch(norm_first, activation):
    torch = pytest.importorskip("torch")
    ours = encoder_layer(norm_first=norm_first, activation=activation)
    theirs = torch.nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.0,
                                              norm_first=norm_first, activation=activation)
    _load_into_torch(ours, theirs, torch)
    x = randn(5, 2, D)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    output = ours(x, src_mask=mask)
    output_t = theirs(torch.from_numpy(x.data), src_mask=torch.from_numpy(mask.data))
    np.testing.assert_allclose(output.data, output_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    (output * output).sum().backward()
    (output_t * output_t).sum().backward()
    _assert_grads_match(ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_pytorch(norm_first, batch_first):
    torch = pytest.importorskip("torch")
    ours = small_transformer(norm_first=norm_first, batch_first=batch_first)
    theirs = torch.nn.Transformer(D, HEADS, num_encoder_layers=2, num_decoder_layers=2,
                                  dim_feedforward=FF, dropout=0.0, norm_first=norm_first,
                                  batch_first=batch_first)
    _load_into_torch(ours, theirs, torch)
    src = randn(2, 5, D) if batch_first else randn(5, 2, D)
    tgt = randn(2, 4, D, seed=1) if batch_first else randn(4, 2, D, seed=1)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4)
    padding = np.array([[False] * 5, [False, False, False, False, True]])
    src.requires_grad_()
    src_t = torch.from_numpy(src.data.copy()).requires_grad_()

    output = ours(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=dlcore.tensor(padding),
                  memory_key_padding_mask=dlcore.tensor(padding))
    output_t = theirs(src_t, torch.from_numpy(tgt.data), tgt_mask=torch.from_numpy(tgt_mask.data),
                      src_key_padding_mask=torch.from_numpy(padding),
                      memory_key_padding_mask=torch.from_numpy(padding))
    np.testing.assert_allclose(output.data, output_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    (output * output).sum().backward()
    (output_t * output_t).sum().backward()
    np.testing.assert_allclose(src.grad, src_t.grad.numpy(), rtol=1e-4, atol=1e-5)
    _assert_grads_match(ours, theirs)
