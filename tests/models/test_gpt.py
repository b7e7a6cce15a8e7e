"""GPT: causal (a position never sees the tokens after it), bounded by its block size,
decodes step by step as it reads whole sequences, positions learned or fixed."""
import numpy as np
import pytest

import dlcore
from dlcore import decoding
from dlcore.models import get_model


def _model(**options):
    model = get_model("gpt", **{**dict(vocab_size=9, block_size=8, d_model=8, num_heads=2,
                                       num_layers=2, dropout=0.0), **options})
    model.eval()
    return model


def test_a_position_never_sees_the_tokens_after_it():
    model, rng = _model(), np.random.default_rng(0)
    tokens = rng.integers(0, 9, (2, 8))
    changed = tokens.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 9
    before, after = (model(dlcore.tensor(t)).numpy() for t in (tokens, changed))
    np.testing.assert_allclose(before[:, :5], after[:, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def test_shapes_parameters_and_bad_options():
    model = _model()
    assert model(dlcore.tensor(np.zeros((3, 1), np.int64))).shape == (3, 1, 9)
    # embeddings 9*8 + 8*8; per block: attention 4*(8*8+8), 2 LayerNorms 4*8, MLP 8*32+32+32*8+8
    block = 4 * (64 + 8) + 4 * 8 + (8 * 32 + 32 + 32 * 8 + 8)
    assert sum(p.data.size for p in model.parameters()) == 72 + 64 + 2 * block + 16 + 8 * 9 + 9
    with pytest.raises(ValueError, match="at most block_size = 8 tokens at a time, got 9"):
        model(dlcore.tensor(np.zeros((1, 9), np.int64)))
    with pytest.raises(ValueError, match="gpt: d_model = 8 is not divisible by num_heads = 3"):
        _model(num_heads=3)
    with pytest.raises(ValueError, match="positions must be one of 'learned', 'sinusoidal'"):
        _model(positions="rotary")


def test_sinusoidal_positions_are_fixed():
    model = _model(positions="sinusoidal")
    table = model.position_embedding.weight
    assert not table.requires_grad
    np.testing.assert_allclose(table.data[1, :2], [np.sin(1.0), np.cos(1.0)], rtol=1e-6)
    loss = model(dlcore.tensor(np.ones((1, 4), np.int64))).sum()
    loss.backward()
    assert table.grad is None


def test_decoding_past_the_block_size_reads_the_latest_tokens():
    model = _model()
    stepper = decoding.ModelStepper(model)
    prompt = np.array([[1, 2, 3]])
    greedy = decoding.sample(stepper, prompt, 12, temperature=0)[0]
    sequence = list(prompt[0])
    for token in greedy:
        window = np.array([sequence[-8:]])
        assert token == int(model(dlcore.tensor(window)).numpy()[0, -1].argmax())
        sequence.append(token)
    [best] = decoding.beam_search(stepper, prompt, 12, beam_size=1)
    assert list(best.tokens) == greedy
