"""The best checkpoint and early stopping watch a validation part held out of the training
split; the test split is measured once, at the end."""
import numpy as np
import pytest

from dlcore.data import ArrayDataset, split_validation
from dlcore.train import checkpoint_path, evaluate_run, run

from .conftest import interrupt_and_resume, read_metrics


def test_split_validation_is_seeded_disjoint_and_complete():
    dataset = ArrayDataset(np.arange(100, dtype=np.float32)[:, None])
    train, held = split_validation(dataset, 0.1, seed=5)
    again_train, again_held = split_validation(dataset, 0.1, seed=5)
    assert len(held) == 10 and len(train) == 90
    np.testing.assert_array_equal(held.indices, again_held.indices)
    assert set(train.indices) | set(held.indices) == set(range(100))
    assert not set(train.indices) & set(held.indices)
    assert not np.array_equal(split_validation(dataset, 0.1, seed=6)[1].indices, held.indices)
    (values,) = held.get_batch(np.arange(3))
    np.testing.assert_array_equal(values[:, 0], held.indices[:3])
    assert held.metadata == dataset.metadata
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        split_validation(dataset, 1.0, seed=0)


def test_runs_pick_the_best_on_validation_and_test_at_the_end(tmp_path, experiment):
    summary = run(experiment(data={"val_fraction": 0.2}, train={"epochs": 2}),
                  run_dir=tmp_path)
    records = read_metrics(tmp_path)
    assert [(r["kind"], r.get("split")) for r in records] == [
        ("train", None), ("eval", "validation"), ("train", None), ("eval", "validation"),
        ("test", "test")]
    assert records[0]["step"] == 32  # 1600 of the 2000 samples train, 50 a batch
    assert summary["best"]["split"] == "validation" and summary["test"] == records[-1]
    assert summary["final"]["eval"] == records[-2]
    again = evaluate_run(checkpoint_path(tmp_path, "last"), split="validation")
    assert again["accuracy"] == pytest.approx(records[-2]["accuracy"])
    assert evaluate_run(checkpoint_path(tmp_path, "last"))["split"] == "test"


def test_without_validation_the_test_split_is_evaluated_while_training(tmp_path, experiment):
    summary = run(experiment(data={"val_fraction": 0.0}, train={"epochs": 1}),
                  run_dir=tmp_path)
    assert [r["kind"] for r in read_metrics(tmp_path)] == ["train", "eval"]
    assert summary["test"]["split"] == "test" and summary["test"] == summary["final"]["eval"]
    with pytest.raises(Exception, match="held out no validation part"):
        evaluate_run(tmp_path, split="validation")


def test_resume_with_validation_is_exact_and_tests_once(tmp_path, experiment):
    interrupt_and_resume(experiment(data={"val_fraction": 0.1}, model={"dropout": 0.2}),
                         tmp_path, 50)
    assert [r["kind"] for r in read_metrics(tmp_path / "split")].count("test") == 1
