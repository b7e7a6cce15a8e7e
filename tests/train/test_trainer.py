"""The loop's triggers end to end: step-based logging, evaluation and checkpoints, and exact
resume from a checkpoint taken between two triggers."""
import pytest

from dlcore.train import RunComplete, checkpoint, checkpoint_path, run

from .conftest import assert_same_state, interrupt_and_resume, read_metrics, without_timing

STEPPED = {"train": {"epochs": 2, "eval_every": "15 steps", "log_every": "10 steps",
                     "checkpoint_every": "25 steps"},
           "model": {"dropout": 0.2}}  # spirals: 40 steps an epoch


class Crash(Exception):
    pass


def crash_at(step):
    def report(record):
        if record["kind"] == "step" and record["step"] == step:
            raise Crash
    return report


def test_step_triggers_log_evaluate_and_checkpoint_and_the_end_catches_up(tmp_path, experiment):
    summary = run(experiment(**STEPPED), run_dir=tmp_path)
    logged = read_metrics(tmp_path)
    assert [r["step"] for r in logged if r["kind"] == "eval"] == [15, 30, 45, 60, 75, 80]
    assert [r["step"] for r in logged if r["kind"] == "train"] == list(range(10, 81, 10))
    # A record's epoch is the epoch in progress (1-based); step 40 ends epoch 1.
    assert [(r["step"], r["epoch"]) for r in logged if r["kind"] == "train"][3:5] == \
        [(40, 1), (50, 2)]
    assert summary["steps"] == 80 and summary["epochs"] == 2
    saved = checkpoint.load(checkpoint_path(tmp_path, "last"))
    assert saved["updater"]["iteration"] == 80 and saved["fired"]["snapshot"] == 80


def test_resume_from_a_checkpoint_between_triggers_is_exact(tmp_path, experiment):
    """A crash at step 62 loses steps 51-62: the run resumes from step 50's checkpoint, mid-way
    between evaluations (45, 60) and logs (50, 60), and ends bit-identical."""
    config = experiment(**STEPPED)
    run(config, run_dir=tmp_path / "straight")
    with pytest.raises(Crash):
        run(config, run_dir=tmp_path / "split", report=crash_at(62))
    assert checkpoint.load(checkpoint_path(tmp_path / "split", "last"))["updater"][
        "iteration"] == 50
    run(config, run_dir=tmp_path / "split", resume=tmp_path / "split")
    assert_same_state(checkpoint.load(checkpoint_path(tmp_path / "straight", "last")),
                      checkpoint.load(checkpoint_path(tmp_path / "split", "last")))
    assert without_timing(read_metrics(tmp_path / "split")) == \
        without_timing(read_metrics(tmp_path / "straight"))


def test_interrupt_between_triggers_resumes_exactly(tmp_path, experiment):
    both = interrupt_and_resume(experiment(**STEPPED), tmp_path, 33)
    assert both.halfway["updater"]["iteration"] == 33


def test_early_stopping_on_a_step_trigger_stops_mid_epoch(tmp_path, experiment):
    summary = run(experiment(optim={"lr": 0.0}, train={"epochs": 5, "eval_every": "7 steps",
                                                       "patience": 2}), run_dir=tmp_path)
    assert summary["status"] == "stopped early" and summary["steps"] == 21
    assert summary["epochs"] == 0  # no epoch completed
    evals = [r["step"] for r in read_metrics(tmp_path) if r["kind"] == "eval"]
    assert evals == [7, 14, 21]  # no extra evaluation at the end: step 21 was evaluated
    with pytest.raises(RunComplete, match=r"already complete after 0 epochs \(early stopping"):
        run(experiment(optim={"lr": 0.0}, train={"epochs": 5, "eval_every": "7 steps",
                                                 "patience": 2}),
            run_dir=tmp_path, resume=tmp_path)
    more = run(experiment(optim={"lr": 0.0}, train={"epochs": 5, "eval_every": "7 steps",
                                                    "patience": 3}),
               run_dir=tmp_path, resume=tmp_path, allow_config_change=True)
    assert more["steps"] == 28 and more["best"] == summary["best"]  # one more evaluation


def test_a_timed_checkpoint_is_accepted(tmp_path, experiment):
    summary = run(experiment(train={"epochs": 1, "checkpoint_every": "10 minutes"}),
                  run_dir=tmp_path)
    assert summary["status"] == "completed"
    assert checkpoint.load(checkpoint_path(tmp_path, "last"))["updater"]["iteration"] == 40
