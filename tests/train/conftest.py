"""Small generated-data experiments that train in well under a second, and the checks that
an interrupted and resumed run ends where an uninterrupted one does."""
import json
import os
import signal
from types import SimpleNamespace

import numpy as np
import pytest

from dlcore.data import LanguageModelDataset, Vocab, chars
from dlcore.data import registry as data_registry
from dlcore.train import RunInterrupted, checkpoint, checkpoint_path, parse, run


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


def without_timing(records):
    return [{k: v for k, v in record.items() if k not in TIMING} for record in records]


def read_metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def stop_at(step, signum=signal.SIGINT):
    """A report callback that sends this process ``signum`` right after global step ``step``."""
    def report(record):
        if record["kind"] == "step" and record["step"] == step:
            os.kill(os.getpid(), signum)
    return report


def interrupt_and_resume(config, tmp_path, step, signum=signal.SIGINT):
    """Train ``config`` straight through, and again stopped by ``signum`` after global step
    ``step`` then resumed; assert both end with the same checkpoint and the same log.

    Returns the two summaries, the RunInterrupted raised, and the checkpoints at the
    interruption (``halfway``) and at the end (``last``) for the caller's own checks.
    """
    straight = run(config, run_dir=tmp_path / "straight")
    with pytest.raises(RunInterrupted) as stopped:
        run(config, run_dir=tmp_path / "split", report=stop_at(step, signum))
    halfway = checkpoint.load(checkpoint_path(tmp_path / "split", "last"))
    resumed = run(config, run_dir=tmp_path / "split", resume=tmp_path / "split")
    last = checkpoint.load(checkpoint_path(tmp_path / "straight", "last"))
    assert_same_state(last, checkpoint.load(checkpoint_path(tmp_path / "split", "last")))
    assert without_timing(read_metrics(tmp_path / "split")) == \
        without_timing(read_metrics(tmp_path / "straight"))
    return SimpleNamespace(straight=straight, resumed=resumed, stopped=stopped.value,
                           halfway=halfway, last=last)


TINY_VOCAB = Vocab(chars("the cat sat on a mat."), reserved=())


def tiny_text_stream(length: int, seed: int) -> np.ndarray:
    """Character ids of random sentences of a few words: structure a small model learns."""
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "a", "mat"]
    text = ""
    while len(text) < length:
        text += " ".join(rng.choice(words, rng.integers(2, 6))) + ". "
    return TINY_VOCAB.encode(chars(text[:length]))


@pytest.fixture
def tiny_text(monkeypatch):
    """A registered dataset "tiny-text": 900 training and 300 test characters."""
    def build(split: str = "train", num_steps: int = 6, sampling: str = "sequential"):
        ids = tiny_text_stream(900 if split == "train" else 300, 0 if split == "train" else 1)
        return LanguageModelDataset(ids, num_steps, TINY_VOCAB, sampling)

    monkeypatch.setitem(data_registry.DATASETS, "tiny-text", data_registry.DatasetEntry(
        "tiny-text", build, "generated sentences of six words", "none"))
