"""run(): the run directory, exact resume, interruption, the NaN guard, early stopping."""
import json
import os
import signal
import tomllib
from pathlib import Path

import numpy as np
import pytest

from dlcore.train import (ConfigChanged, NonFiniteLoss, RunInterrupted, checkpoint_path,
                          evaluate_run, parse, run)
from dlcore import serialization
from dlcore.train import checkpoint

from .conftest import interrupt_and_resume, read_metrics, stop_at

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_run_directory_holds_config_metrics_summary_and_checkpoints(tmp_path, experiment):
    config = experiment(train={"epochs": 2})
    summary = run(config, run_dir=tmp_path)
    assert parse(tomllib.loads((tmp_path / "config.toml").read_text()),
                 name="spirals") == config
    records = read_metrics(tmp_path)
    assert [(r["kind"], r["epoch"]) for r in records] == [("train", 1), ("eval", 1),
                                                            ("train", 2), ("eval", 2)]
    assert records[-1]["step"] == 80 and 0.5 < records[-1]["accuracy"] <= 1
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["status"] == "completed" and summary["epochs"] == 2
    assert summary["final"]["eval"] == records[-1]
    assert summary["best"]["accuracy"] == max(r["accuracy"] for r in records[1::2])
    assert summary["seed"] == 0 and summary["samples_per_s"] > 0 and summary["threads"] >= 1
    assert {"cpu_path", "version", "wall_seconds"} <= set(summary)
    assert checkpoint_path(tmp_path, "last").is_file()
    assert checkpoint_path(tmp_path, "best").is_file()


HARD = {  # everything that carries state across steps: dropout, BatchNorm, Adam, a schedule
    "model": {"dropout": 0.3, "batch_norm": True},
    "schedule": {"name": "step", "step_size": 1, "gamma": 0.5},
    "train": {"epochs": 3, "clip_grad_norm": 1.0},
}


@pytest.mark.parametrize("stop_step, signum", [(60, signal.SIGINT), (40, signal.SIGTERM),
                                               (1, signal.SIGINT)])
def test_resume_continues_bit_for_bit(tmp_path, experiment, stop_step, signum):
    """N steps == N/2 steps + resume + N/2 steps: parameters, optimizer state and metrics.
    Step 60 is mid-epoch; step 40 is the last step of epoch 1."""
    both = interrupt_and_resume(experiment(**HARD), tmp_path, stop_step, signum)
    assert both.stopped.exit_code == 128 + signum
    assert both.halfway["updater"]["iteration"] == stop_step
    assert both.resumed["best"] == both.straight["best"]
    assert both.resumed["steps"] == both.straight["steps"]


def test_resume_with_a_different_config_lists_the_changes_and_refuses(tmp_path, experiment):
    with pytest.raises(RunInterrupted):
        run(experiment(), run_dir=tmp_path, report=stop_at(10))
    changed = experiment(train={"epochs": 4}, optim={"lr": 0.02})
    with pytest.raises(ConfigChanged) as refused:
        run(changed, run_dir=tmp_path, resume=tmp_path)
    assert refused.value.changes == ["optim.lr: 0.01 -> 0.02", "train.epochs: 3 -> 4"]
    summary = run(changed, run_dir=tmp_path, resume=tmp_path, allow_config_change=True)
    assert summary["epochs"] == 4
    assert "epochs = 4" in (tmp_path / "config.toml").read_text()


def test_a_resumed_run_drops_log_lines_written_after_its_checkpoint(tmp_path, experiment):
    """A SIGKILL between a log line and the next checkpoint must not duplicate lines."""
    config = experiment()
    with pytest.raises(RunInterrupted):
        run(config, run_dir=tmp_path, report=stop_at(50))
    with open(tmp_path / "metrics.jsonl", "a") as log:
        log.write(json.dumps({"kind": "train", "epoch": 2, "note": "lost with the process"}) + "\n")
    run(config, run_dir=tmp_path, resume=tmp_path)
    assert [(r["kind"], r["epoch"]) for r in read_metrics(tmp_path)] == [
        (kind, epoch) for epoch in (1, 2, 3) for kind in ("train", "eval")]


def test_a_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path,
                                                                          experiment):
    """Epoch 1 trains normally; then the schedule raises the lr to 1e6 and the loss explodes."""
    config = experiment(optim={"name": "sgd", "lr": 0.01},
                        schedule={"name": "exponential", "gamma": 1e8}, train={"epochs": 3})
    with pytest.raises(NonFiniteLoss) as stopped:
        run(config, run_dir=tmp_path)
    error = stopped.value
    assert error.step > 40 and np.isfinite(error.last_finite) and not np.isfinite(error.loss)
    assert f"at step {error.step} (last finite loss: " in str(error)
    saved = checkpoint.load(checkpoint_path(tmp_path, "last"))
    assert saved["trainer"]["epoch"] == 1 and saved["updater"]["iteration"] == 40
    assert all(np.isfinite(v).all() for v in saved["model"].values())
    assert not (tmp_path / "summary.json").exists()


def test_early_stopping_after_patience_evaluations_without_improvement(tmp_path, experiment):
    summary = run(experiment(optim={"lr": 0.0}, train={"epochs": 10, "patience": 2}),
                  run_dir=tmp_path)
    assert summary["status"] == "stopped early" and summary["epochs"] == 3
    assert "no better eval accuracy in 2 evaluations" in summary["stop_reason"]


def test_eval_every_and_the_last_epoch_are_evaluated(tmp_path, experiment):
    run(experiment(train={"epochs": 5, "eval_every": 2}), run_dir=tmp_path)
    assert [r["epoch"] for r in read_metrics(tmp_path) if r["kind"] == "eval"] == [2, 4, 5]


def test_per_step_schedule_and_report_records(tmp_path, experiment):
    records = []
    run(experiment(schedule={"name": "exponential", "gamma": 0.99, "interval": "step"},
                   train={"epochs": 1}), run_dir=tmp_path, report=records.append)
    kinds = [r["kind"] for r in records]
    assert kinds[:2] == ["run", "start"] and kinds.count("step") == 40 and kinds[-2:] == ["train", "eval"]
    assert records[-2]["lr"] == pytest.approx(0.01 * 0.99**40)


def test_linear_regression_recovers_the_generating_weights(tmp_path):
    summary = run(EXAMPLES / "synthetic" / "linear.toml", run_dir=tmp_path)
    assert summary["final"]["eval"]["loss"] < 1e-3
    weights = checkpoint.load(checkpoint_path(tmp_path, "last"))["model"]
    np.testing.assert_allclose(weights["0.weight"], [[2.0, -3.4]], atol=0.02)
    np.testing.assert_allclose(weights["0.bias"], [4.2], atol=0.02)


def test_evaluate_run_reports_a_confusion_matrix_and_writes_eval_json(tmp_path, experiment):
    run(experiment(train={"epochs": 2}), run_dir=tmp_path)
    result = evaluate_run(tmp_path)
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == 2000
    assert result["accuracy"] == pytest.approx(np.trace(matrix) / 2000)
    assert result["checkpoint"].endswith("best.npz") and result["split"] == "test"
    assert json.loads((tmp_path / "eval.json").read_text()) == result
    on_train = evaluate_run(checkpoint_path(tmp_path, "last"), split="train")
    assert on_train["split"] == "train" and on_train["epoch"] == 2


def test_missing_data_is_fetched_first_and_the_fetch_is_reported(tmp_path, experiment,
                                                                 monkeypatch):
    from dlcore import data
    from dlcore.train import components

    fetched = []

    def fake_fetch(name, progress):
        fetched.append(name)
        progress("download two-spirals", 1, 2)

    monkeypatch.setattr(components, "missing_data", lambda experiment: True)
    monkeypatch.setattr(data, "fetch_dataset", fake_fetch)
    records = []
    run(experiment(train={"epochs": 1}), run_dir=tmp_path, report=records.append)
    fetches = [r for r in records if r["kind"] == "fetch"]
    assert fetched == ["two-spirals"]
    assert "is not on this machine: fetching it" in fetches[0]["description"]
    assert fetches[1] == {"kind": "fetch", "dataset": "two-spirals",
                          "description": "download two-spirals", "done": 1, "total": 2}


def test_an_existing_run_is_never_replaced_unasked(tmp_path, experiment):
    from dlcore.train import RunExists

    run(experiment(train={"epochs": 1}), run_dir=tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    before = checkpoint_path(tmp_path, "last").read_bytes()
    with pytest.raises(RunExists, match=r"already holds a run; continue it with --resume"):
        run(experiment(train={"epochs": 2}), run_dir=tmp_path)
    assert checkpoint_path(tmp_path, "last").read_bytes() == before
    summary = run(experiment(train={"epochs": 2}), run_dir=tmp_path, overwrite=True)
    assert summary["epochs"] == 2 and len(read_metrics(tmp_path)) == 4
    assert (tmp_path / "notes.txt").read_text() == "mine"  # not the run's: left alone


def test_a_run_directory_is_locked_while_training(tmp_path, experiment):
    import fcntl

    from dlcore.train import RunLocked

    (tmp_path / ".lock").write_text("4242")
    with open(tmp_path / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another trainer would
        with pytest.raises(RunLocked, match=r"being trained by another process \(pid 4242\)"):
            run(experiment(train={"epochs": 1}), run_dir=tmp_path)
    assert not checkpoint_path(tmp_path, "last").exists()
    run(experiment(train={"epochs": 1}), run_dir=tmp_path)  # released: a stale file is fine
    assert (tmp_path / ".lock").read_text() == str(os.getpid())


def test_unique_run_dirs_never_collide(tmp_path):
    from dlcore.train import unique_run_dir

    made = [unique_run_dir(tmp_path / "runs", "exp-20261206") for _ in range(3)]
    assert [p.name for p in made] == ["exp-20261206", "exp-20261206-2", "exp-20261206-3"]
    assert all(p.is_dir() for p in made)


def test_a_full_disk_while_saving_is_one_clear_error(tmp_path, experiment, monkeypatch):
    import errno

    from dlcore.train import CheckpointError

    real = serialization.np.savez

    def full(file, **arrays):  # the disk fills up once epoch 1's checkpoints are written
        if checkpoint_path(tmp_path, "last").exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        real(file, **arrays)

    monkeypatch.setattr(serialization.np, "savez", full)
    with pytest.raises(CheckpointError, match=r"cannot write .*(best|last)\.npz: No space "
                                              r"left on device; the previous version is kept"):
        run(experiment(train={"epochs": 3}), run_dir=tmp_path)
    monkeypatch.undo()
    assert checkpoint.load(checkpoint_path(tmp_path, "last"))["trainer"]["epoch"] == 1
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_resume_errors_are_one_clear_line(tmp_path, experiment):
    from dlcore.train import CheckpointError

    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"is not a run directory with a checkpoint"):
        run(experiment(), run_dir=tmp_path / "empty", resume=tmp_path / "empty")
    run(experiment(train={"epochs": 1}), run_dir=tmp_path / "small")
    with pytest.raises(CheckpointError, match=r"does not fit this experiment's model"):
        run(experiment(train={"epochs": 2}, model={"hidden": [8]}),
            run_dir=tmp_path / "small", resume=tmp_path / "small", allow_config_change=True)
    checkpoint_path(tmp_path / "small", "best").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CheckpointError, match=r"evaluates the last checkpoint instead"):
        evaluate_run(tmp_path / "small")
