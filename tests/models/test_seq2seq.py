"""The encoder-decoders: shapes, decoding one token at a time equals reading the whole target
(teacher forcing), attention ignores the padding past a source's valid length."""
import numpy as np
import pytest

import dlcore
from dlcore.models import get_model

ATTENTIONS = ["none", "additive", "dot", "general"]


def _model(attention, cell="gru", layers=2):
    dlcore.manual_seed(0)
    if attention == "transformer":
        model = get_model("transformer", src_vocab_size=11, tgt_vocab_size=13, d_model=8,
                          num_heads=2, num_layers=2, dropout=0.0)
    else:
        model = get_model("seq2seq", src_vocab_size=11, tgt_vocab_size=13, embedding_dim=6,
                          hidden_size=8, num_layers=layers, cell=cell, dropout=0.0,
                          attention=attention)
    model.eval()
    return model


def _batch(rng=np.random.default_rng(0)):
    source = rng.integers(0, 11, (3, 7))
    return source, np.array([7, 1, 4]), rng.integers(0, 13, (3, 5))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_decoding_step_by_step_equals_teacher_forcing(attention, cell):
    model, (source, lengths, target) = _model(attention, cell), _batch()
    whole = model(dlcore.tensor(source), dlcore.tensor(target), dlcore.tensor(lengths))
    assert whole.shape == (3, 5, 13)
    state = model.start_state(dlcore.tensor(source), dlcore.tensor(lengths))
    steps = []
    for t in range(target.shape[1]):
        logits, state = model.forward_with_state(dlcore.tensor(target[:, t:t + 1]), state)
        steps.append(logits.numpy())
    np.testing.assert_allclose(np.concatenate(steps, 1), whole.numpy(), rtol=1e-5, atol=1e-6)
    rows = model.select_state(state, np.array([2, 2, 0]))
    np.testing.assert_array_equal(rows.memory.numpy()[1], state.memory.numpy()[2])


def test_the_transformer_decodes_step_by_step_as_it_reads_whole_targets():
    test_decoding_step_by_step_equals_teacher_forcing("transformer", None)


def test_the_transformers_encoder_ignores_the_padding():
    model, (source, lengths, target) = _model("transformer"), _batch()
    changed = source.copy()
    changed[1, 1:] = (changed[1, 1:] + 3) % 11
    a, b = (model(dlcore.tensor(s), dlcore.tensor(target), dlcore.tensor(lengths)).numpy()
            for s in (source, changed))
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="transformer: d_model = 8 is not divisible"):
        get_model("transformer", d_model=8, num_heads=3)


@pytest.mark.parametrize("attention", ATTENTIONS[1:])
def test_attention_ignores_the_source_past_its_valid_length(attention):
    model, (source, lengths, target) = _model(attention), _batch()
    changed = source.copy()
    changed[:, 1:] = (changed[:, 1:] + 3) % 11  # row 1 has one valid token, row 0 seven
    encoded = model.encoder(dlcore.tensor(changed))[0]
    state = model.decoder.init_state((encoded, model.encoder(dlcore.tensor(source))[1]), lengths)
    reference = model.start_state(dlcore.tensor(source), dlcore.tensor(lengths))
    a = model.forward_with_state(dlcore.tensor(target), reference)[0].numpy()
    b = model.forward_with_state(dlcore.tensor(target), state)[0].numpy()
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)  # padding changed, unseen
    assert not np.allclose(a[0], b[0])  # row 0 sees the change


def test_bad_options_name_the_model():
    with pytest.raises(ValueError, match="seq2seq: attention must be one of 'none', "
                                         "'additive'"):
        _model("luong")
