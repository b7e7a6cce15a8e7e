"""Small generated-data experiments that train in well under a second."""
import numpy as np
import pytest

from dlcore.train import parse


def spirals(**sections) -> dict:
    """A raw config: an MLP on two spirals (2000 samples, 40 steps an epoch), 3 epochs.

    ``sections`` update the defaults section by section: ``spirals(train={"epochs": 1})``.
    """
    raw = {
        "model": {"name": "mlp", "in_features": 2, "hidden": [32, 32], "num_classes": 2},
        "data": {"name": "two-spirals", "num_samples": 2000, "batch_size": 50,
                 "val_fraction": 0.0},
        "optim": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 3, "seed": 0},
    }
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


@pytest.fixture
def experiment():
    """Build an Experiment from :func:`spirals` overrides."""
    return lambda **sections: parse(spirals(**sections), name="spirals")


TIMING = {"seconds", "samples_per_s", "wall_seconds", "train_seconds"}


def assert_same_state(a, b, path=""):
    """Two checkpoint trees are equal, bit for bit, in everything but wall-clock timings."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            if key not in TIMING:
                assert_same_state(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{path}/{i}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path
