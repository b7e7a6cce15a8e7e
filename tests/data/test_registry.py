"""The dataset registry: names, options, licences, and clear errors."""
import numpy as np
import pytest

from dlcore.data import DATASETS, dataset_entry, get_dataset


def test_every_dataset_has_a_description_a_licence_and_named_options():
    for name, entry in DATASETS.items():
        assert entry.name == name and entry.description and entry.licence
        assert "split" not in entry.options()
    assert set(DATASETS) >= {"fashion-mnist", "mnist", "kjv", "kjv-rv1909", "linear-regression",
                             "two-spirals", "noisy-sine"}


def test_generated_datasets_need_no_files():
    assert dataset_entry("two-spirals").missing() == []
    x, y = get_dataset("two-spirals", "test", num_samples=10).get_batch(np.arange(10))
    assert x.shape == (10, 2)


def test_unknown_names_and_options_list_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'; known: fashion-mnist"):
        get_dataset("cifar")
    with pytest.raises(ValueError, match="no option batch; its options: num_samples=1000"):
        get_dataset("linear-regression", batch=3)
