"""Every dataset says what it holds, in the names model builders use, the same for each split."""
import json

import numpy as np
import pytest

from dlcore import data
from dlcore.data import ArrayDataset, DATASETS, TranslationDataset, get_dataset
from dlcore.data.dataset import check_metadata

OFFLINE = ["two-spirals", "linear-regression", "noisy-sine", "gaussian-2d"]
EXPECTED = {  # keys and values each registered dataset's metadata must have
    "two-spirals": {"input_shape": [2], "num_classes": 2},
    "linear-regression": {"input_shape": [2], "target_shape": [1]},
    "noisy-sine": {"input_shape": [4], "target_shape": [1]},
    "gaussian-2d": {"input_shape": [2], "mean": [1.0, 2.0]},
    "fashion-mnist": {"input_shape": [1, 28, 28], "num_classes": 10},
    "mnist": {"input_shape": [1, 28, 28], "num_classes": 10},
}


def build(name, split="train", **options):
    entry = DATASETS[name]
    if entry.missing():
        pytest.skip(f"{name} is not on this machine (dl data fetch {name})")
    return get_dataset(name, split, **options)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_metadata_is_plain_json_and_alike_for_both_splits(name):
    options = {"max_tokens": 20000} if name == "kjv" else {}
    train, test = build(name, "train", **options), build(name, "test", **options)
    assert json.loads(json.dumps(train.metadata)) == train.metadata
    assert train.metadata == test.metadata  # what a model is built from never depends on it
    for key, value in EXPECTED.get(name, {}).items():
        assert train.metadata[key] == value, key


def test_image_datasets_name_their_classes():
    metadata = build("fashion-mnist").metadata
    assert len(metadata["classes"]) == 10 and metadata["classes"][0] == "T-shirt/top"


def test_language_model_metadata_gives_the_vocabulary():
    dataset = build("kjv", tokens="char", max_tokens=20000)
    metadata = dataset.metadata
    assert metadata["vocab_size"] == len(dataset.vocab) == len(metadata["vocab"])
    assert metadata["vocab"][metadata["unk_id"]] == "<unk>" and metadata["seq_len"] == 35


def test_translation_metadata_gives_sizes_and_the_shared_special_ids():
    pairs = [("go now", "va ahora"), ("go home", "va casa"), ("now", "ahora")]
    dataset = TranslationDataset(pairs, num_steps=4, min_freq=1)
    metadata = dataset.metadata
    assert metadata["src_vocab_size"] == len(dataset.src_vocab)
    assert metadata["tgt_vocab_size"] == len(dataset.tgt_vocab)
    for token, key in (("<pad>", "pad_id"), ("<bos>", "bos_id"), ("<eos>", "eos_id")):
        assert dataset.src_vocab[token] == dataset.tgt_vocab[token] == metadata[key]
    assert metadata["num_steps"] == 4
    source, _, target, _ = dataset.get_batch(np.arange(3))
    assert (target == metadata["pad_id"]).any() and source.shape == (3, 4)


def test_array_metadata_is_inferred_after_the_transform_and_extended():
    images = np.zeros((5, 1, 8, 8), dtype=np.float32)
    labels = np.arange(5)
    crop = lambda x, rng: x[..., 1:-1, 1:-1]  # noqa: E731
    dataset = ArrayDataset(images, labels, transform=crop, metadata={"num_classes": 5})
    assert dataset.metadata == {"input_shape": [1, 6, 6], "num_classes": 5}
    assert ArrayDataset(np.arange(4), labels[:4]).metadata == {}  # int inputs: ids, no shape
    dataset.metadata["num_classes"] = 7  # a copy: the dataset's own stays
    assert dataset.metadata["num_classes"] == 5


@pytest.mark.parametrize("bad", [{"n": np.int64(3)}, {"shape": (np.float32(1.0),)},
                                 {1: "key not a string"}, {"a": object()}])
def test_metadata_must_be_plain_json(bad):
    with pytest.raises(TypeError, match="must be plain JSON"):
        check_metadata(bad)


def test_gaussian_2d_samples_the_d2l_distribution():
    a = np.array([[1.0, 2.0], [-0.1, 0.5]])
    train = get_dataset("gaussian-2d", "train", num_samples=20000, seed=3)
    (x,) = train.get_batch(np.arange(len(train)))
    assert x.dtype == np.float32 and x.shape == (20000, 2)
    np.testing.assert_allclose(x.mean(axis=0), [1.0, 2.0], atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), a.T @ a, atol=0.1)
    np.testing.assert_allclose(train.metadata["cov"], a.T @ a)
    again = get_dataset("gaussian-2d", "train", num_samples=20000, seed=3)
    np.testing.assert_array_equal(again.arrays[0], train.arrays[0])
    other = get_dataset("gaussian-2d", "test", num_samples=20000, seed=3)
    assert not np.array_equal(other.arrays[0], train.arrays[0])
    with pytest.raises(ValueError, match="num_samples"):
        get_dataset("gaussian-2d", "train", num_samples=0)


def test_every_offline_dataset_builds_a_model_through_its_metadata():
    from dlcore import models

    for name in OFFLINE:
        options = models.data_options(get_dataset(name, "train").metadata)
        assert options.get("in_features") in (2, 4), name
    assert data.DATASETS["gaussian-2d"].description
