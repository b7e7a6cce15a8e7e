"""Vocabulary, language-model windows and padded translation pairs (FEATURES §7)."""
import numpy as np
import pytest

from dlcore.data import (DataLoader, LanguageModelDataset, TranslationDataset, Vocab, chars,
                         split_validation, words)
from dlcore.data.bible import KJV_FILES, RV1909_FILES
from dlcore.data.registry import get_dataset


def test_tokenisers_lower_case_and_split_punctuation():
    assert words("They are watching.") == ["they", "are", "watching", "."]
    assert words("¿Dónde está?") == ["¿", "dónde", "está", "?"]
    assert chars("Ab c") == ["a", "b", " ", "c"]


def test_rare_tokens_become_unk_and_specials_come_first():
    vocab = Vocab("a b a c a b".split(), min_freq=2)
    assert vocab.tokens == ["<unk>", "<pad>", "<bos>", "<eos>", "a", "b"]
    assert vocab["c"] == vocab["never seen"] == 0
    np.testing.assert_array_equal(vocab.encode(["b", "c", "a"]), [5, 0, 4])
    assert vocab.decode([4, 5, 3]) == ["a", "b", "<eos>"]


def test_vocab_round_trips_through_its_token_list():
    vocab = Vocab("x y y z".split())
    assert Vocab.from_tokens(vocab.tokens).tokens == vocab.tokens
    with pytest.raises(ValueError, match="'<unk>' at index 0"):
        Vocab.from_tokens(["a", "<unk>"])


def test_language_model_targets_are_inputs_shifted_by_one():
    dataset = LanguageModelDataset(np.arange(11), num_steps=3, vocab=Vocab())
    assert len(dataset) == 3
    inputs, targets = dataset.get_batch(dataset.epoch_order(None, 2))
    np.testing.assert_array_equal(inputs, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(targets, inputs + 1)
    np.testing.assert_array_equal(dataset[1][0], [3, 4, 5])
    with pytest.raises(ValueError, match="num_steps=20 for 11 tokens"):
        LanguageModelDataset(np.arange(11), num_steps=20, vocab=Vocab())
    with pytest.raises(ValueError, match="sampling must be one of 'fixed', 'random'"):
        LanguageModelDataset(np.arange(11), num_steps=3, vocab=Vocab(), sampling="stride")


def _served(dataset, batch_size, seed):
    """Every batch of one shuffled epoch of a loader."""
    return list(DataLoader(dataset, batch_size, shuffle=True, seed=seed))


@pytest.mark.parametrize("sampling", ["random", "sequential"])
def test_random_offset_moves_every_window_alike_and_covers_each_cut(sampling):
    steps, ids = 5, np.arange(103)
    dataset = LanguageModelDataset(ids, steps, Vocab(), sampling)
    offsets = set()
    for seed in range(12):
        batches = _served(dataset, 4, seed)
        starts = np.concatenate([x[:, 0] for x, _ in batches])
        offset = int(starts.min())
        assert 0 <= offset < steps and np.all((starts - offset) % steps == 0)
        assert len(set(starts.tolist())) == len(starts)  # no window twice
        assert starts.max() + steps + 1 <= len(ids)  # targets stay inside the stream
        for x, y in batches:
            np.testing.assert_array_equal(y, x + 1)
        offsets.add(offset)
    assert len(offsets) > 1  # the offset is drawn per epoch
    unshuffled = np.concatenate([x[:, 0] for x, _ in DataLoader(dataset, 4)])
    assert unshuffled.min() == 0  # evaluation starts at the stream's beginning


def test_sequential_batches_continue_row_by_row():
    steps, batch = 4, 3
    dataset = LanguageModelDataset(np.arange(200), steps, Vocab(), "sequential")
    for loader in (DataLoader(dataset, batch, shuffle=True, seed=1), DataLoader(dataset, batch)):
        batches = list(loader)
        assert len(batches) == len(loader) and all(len(x) == batch for x, _ in batches)
        for (before, _), (after, _) in zip(batches, batches[1:]):
            np.testing.assert_array_equal(after[:, 0], before[:, -1] + 1)
    with pytest.raises(ValueError, match="at least batch_size = 60 windows of 4 tokens"):
        DataLoader(dataset, 60)


def test_language_model_validation_is_the_streams_tail():
    dataset = LanguageModelDataset(np.arange(100), 4, Vocab(), "sequential")
    train, held = split_validation(dataset, 0.2, seed=3)
    np.testing.assert_array_equal(held.ids, np.arange(80, 100))
    np.testing.assert_array_equal(train.ids, np.arange(80))
    assert held.sampling == train.sampling == "sequential"
    with pytest.raises(ValueError, match="shorter than num_steps"):
        split_validation(dataset, 0.01, seed=3)


def test_translation_pairs_end_with_eos_then_pad_or_truncate():
    pairs = [("they are watching .", "ils regardent ."), ("they are here", "ils sont là")] * 2
    dataset = TranslationDataset(pairs, num_steps=4)
    src, src_len, tgt, tgt_len = dataset.get_batch(np.array([0, 1]))
    eos, pad = dataset.tgt_vocab["<eos>"], dataset.tgt_vocab["<pad>"]
    assert dataset.src_vocab.decode(src[0]) == ["they", "are", "watching", "."]  # truncated
    assert dataset.tgt_vocab.decode(tgt[0]) == ["ils", "regardent", ".", "<eos>"]
    np.testing.assert_array_equal(src_len, [4, 4])
    np.testing.assert_array_equal(tgt_len, [4, 4])
    assert src.dtype == tgt.dtype == np.int64
    short = TranslationDataset([("hi", "salut")] * 2, num_steps=4)
    _, _, tgt, tgt_len = short.get_batch(np.array([0]))
    assert tgt[0].tolist()[1:] == [eos, pad, pad] and tgt_len.tolist() == [2]


@pytest.mark.slow
def test_real_bible_datasets_share_vocabularies_across_splits():
    if KJV_FILES.locate() is None or RV1909_FILES.locate() is None:
        pytest.skip("the KJV / RV1909 modules are not here (dl data fetch kjv-rv1909)")
    train, test = get_dataset("kjv-rv1909", "train"), get_dataset("kjv-rv1909", "test")
    assert len(train) + len(test) == 31048
    assert test.src_vocab.tokens == train.src_vocab.tokens
    lm = get_dataset("kjv", "train", tokens="word", num_steps=35)
    inputs, targets = lm.get_batch(np.array([0]))
    assert lm.vocab.decode(inputs[0][:4]) == ["the", "first", "book", "of"]
    np.testing.assert_array_equal(inputs[0, 1:], targets[0, :-1])


def test_joined_words_put_marks_against_the_word_before_and_keep_special_tokens_apart():
    from dlcore.data.text import join_tokens
    tokens = words("And God said, Let there be light: and there was light.")
    assert join_tokens(tokens, "word") == "and god said, let there be light: and there was light."
    assert join_tokens(["y", "<unk>", "."], "word") == "y <unk>."
    assert join_tokens(list("a b."), "char") == "a b."
