"""Reading run directories back (dlcore.train.runs) and plotting their curves: real tiny runs,
then the states a run can be left in (completed, interrupted, locked by a live trainer,
failed)."""
import fcntl
import json
import os
import sys

import pytest

from dlcore.train import RunInterrupted, checkpoint, checkpoint_path, parse, plotting, run
from dlcore.train import runs as run_dirs
from dlcore.train.run import locked

from .conftest import spirals, stop_at


def train(run_dir, name="spirals", **sections):
    """A finished tiny run (2 epochs of 40 steps unless ``sections`` say otherwise)."""
    sections["train"] = {"epochs": 2, **sections.get("train", {})}
    return run(parse(spirals(**sections), name=name), run_dir=run_dir)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """runs/a (lr 0.01, 2 epochs) and runs/b (lr 0.02, 3 epochs); read only."""
    root = tmp_path_factory.mktemp("runs")
    train(root / "a")
    train(root / "b", optim={"lr": 0.02}, train={"epochs": 3})
    return root


def test_find_runs_lists_completed_runs_with_what_their_summary_says(two_runs):
    found = run_dirs.find_runs(two_runs)
    assert [info.path for info in found] == [two_runs / "a", two_runs / "b"]
    a, b = found
    summary = json.loads((two_runs / "b" / "summary.json").read_text())
    assert (b.name, b.model, b.dataset, b.task, b.status) == (
        "spirals", "mlp", "two-spirals", "classification", "completed")
    assert (b.epochs, b.steps, a.epochs, a.steps) == (3, 120, 2, 80)
    assert b.monitor == "accuracy" and b.best_value == summary["best"]["accuracy"]
    assert b.best == summary["best"] and b.test == summary["test"]
    assert b.wall_seconds == summary["wall_seconds"] > 0
    assert json.loads(json.dumps(b.to_dict()))["path"] == str(two_runs / "b")


def test_a_folder_of_runs_is_searched_below_but_not_a_runs_own_folders(tmp_path):
    train(tmp_path / "sweep" / "trial-001")
    train(tmp_path / "sweep" / "trial-000")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "config.toml").write_text("")  # no log, no checkpoints: not a run
    (tmp_path / "sweep" / "sweep.jsonl").write_text("")
    assert [info.path.relative_to(tmp_path).as_posix() for info in
            run_dirs.find_runs(tmp_path)] == ["sweep/trial-000", "sweep/trial-001"]
    assert [info.path for info in run_dirs.find_runs(tmp_path / "sweep" / "trial-000")] == [
        tmp_path / "sweep" / "trial-000"]  # a run is a folder of one run
    with pytest.raises(FileNotFoundError):
        run_dirs.find_runs(tmp_path / "missing")


def test_a_run_without_summary_but_with_a_checkpoint_is_interrupted(tmp_path):
    summary = train(tmp_path / "r")
    (tmp_path / "r" / "summary.json").unlink()
    info = run_dirs.read_run(tmp_path / "r")
    assert info.status == "interrupted" and (info.epochs, info.steps) == (2, 80)
    assert info.best == summary["best"] and info.name == "spirals"
    assert 0 < info.wall_seconds <= summary["wall_seconds"]  # the last checkpoint's


def test_a_run_stopped_by_a_signal_reports_where_its_checkpoint_is(tmp_path):
    with pytest.raises(RunInterrupted):
        run(parse(spirals(), name="spirals"), run_dir=tmp_path / "r", report=stop_at(50))
    info = run_dirs.read_run(tmp_path / "r")
    assert info.status == "interrupted" and (info.epochs, info.steps) == (1, 50)
    assert checkpoint.progress(checkpoint_path(tmp_path / "r", "last"))["step"] == 50


def test_a_run_whose_lock_another_trainer_holds_is_running(tmp_path):
    train(tmp_path / "r")
    with open(tmp_path / "r" / ".lock", "a+b") as held:  # as run() holds it while training
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert run_dirs.read_run(tmp_path / "r").status == "running"
        fcntl.flock(held, fcntl.LOCK_UN)
    assert run_dirs.read_run(tmp_path / "r").status == "completed"
    with locked(tmp_path / "r"):  # the probe let go: a trainer gets the lock
        pass


def test_runs_that_left_nothing_to_resume_failed(tmp_path):
    train(tmp_path / "r")
    (tmp_path / "bare").mkdir()
    os.rename(tmp_path / "r" / "config.toml", tmp_path / "bare" / "config.toml")
    (tmp_path / "bare" / "metrics.jsonl").write_text("")
    bare = run_dirs.read_run(tmp_path / "bare")
    assert bare.status == "failed" and bare.epochs is None and bare.wall_seconds is None
    os.rename(tmp_path / "bare" / "config.toml", tmp_path / "r" / "config.toml")
    (tmp_path / "r" / run_dirs.FAILED).write_text("{}")  # newer than the summary
    assert run_dirs.read_run(tmp_path / "r").status == "failed"


def test_compare_names_exactly_the_keys_that_differ(two_runs):
    result = run_dirs.compare_runs([two_runs / "a", two_runs / "b"])
    assert result["config"] == {"optim.lr": [0.01, 0.02], "train.epochs": [2, 3]}
    assert result["names"] == ["a", "b"] and result["runs"] == [str(two_runs / n) for n in "ab"]
    summary = json.loads((two_runs / "a" / "summary.json").read_text())
    assert result["metrics"][0] == {"monitor": "accuracy", "best": summary["best"],
                                    "test": summary["test"]}


def test_compare_flattens_role_tables_and_shows_missing_keys_as_none(tmp_path):
    for name, lr, extra in (("x", 0.0002, "beta = 0.5\n"), ("y", 0.001, "")):
        (tmp_path / name / "checkpoints").mkdir(parents=True)
        (tmp_path / name / "config.toml").write_text(
            f'[model]\nname = "dcgan"\n\n[optim.generator]\nlr = {lr}\n{extra}\n'
            f'[optim.discriminator]\nlr = 0.0002\n')
    result = run_dirs.compare_runs([tmp_path / "x", tmp_path / "y"])
    assert result["config"] == {"optim.generator.beta": [0.5, None],
                                "optim.generator.lr": [0.0002, 0.001]}
    assert result["metrics"][1] == {"monitor": None, "best": None, "test": None}


def test_compare_needs_two_runs(two_runs, tmp_path):
    with pytest.raises(ValueError, match="at least two runs"):
        run_dirs.compare_runs([two_runs / "a"])
    with pytest.raises(ValueError, match="not a run directory"):
        run_dirs.compare_runs([two_runs / "a", tmp_path])


def test_expand_turns_folders_into_their_runs_each_once(two_runs, tmp_path):
    assert run_dirs.expand([two_runs / "b", two_runs]) == [two_runs / "b", two_runs / "a"]
    with pytest.raises(ValueError, match="holds no runs"):
        run_dirs.expand([tmp_path])
    with pytest.raises(ValueError, match="not a run directory nor a folder"):
        run_dirs.expand([two_runs / "a" / "config.toml"])


def test_short_names_tell_runs_apart(tmp_path):
    assert run_dirs.short_names([tmp_path / "s1" / "trial-000", tmp_path / "s1" / "t"]) == [
        "trial-000", "t"]
    assert run_dirs.short_names([tmp_path / "s1" / "trial-000", tmp_path / "s2" / "trial-000"]
                                ) == ["s1/trial-000", "s2/trial-000"]


def test_curves_are_the_logged_train_and_eval_series(two_runs):
    records = [json.loads(line) for line in
               (two_runs / "b" / "metrics.jsonl").read_text().splitlines()]
    series = run_dirs.curves(two_runs / "b", "loss")
    assert series == {kind: [(r["step"], r["loss"]) for r in records if r["kind"] == kind]
                      for kind in ("train", "eval")}
    assert [step for step, _ in series["train"]] == [40, 80, 120]
    assert run_dirs.curves(two_runs / "b", "lr")["eval"] == []  # logged while training only


def test_a_metric_the_run_lacks_is_refused_with_the_ones_it_has(two_runs, tmp_path):
    with pytest.raises(ValueError, match="no metric 'perplexity'; its metrics: accuracy, "
                                         "loss, lr"):
        run_dirs.curves(two_runs / "a", "perplexity")
    with pytest.raises(ValueError, match="logged no metrics yet"):
        run_dirs.curves(tmp_path, "loss")


def test_plot_writes_an_image_atomically(two_runs, tmp_path):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    plotted = plotting.plot_curves([two_runs / "a", two_runs / "b"], "loss",
                                   tmp_path / "c.png", log_y=True)
    assert plotted == [two_runs / "a", two_runs / "b"]
    out = tmp_path / "c.png"
    assert os.listdir(tmp_path) == ["c.png"]  # no temp left
    with image.open(out) as png:
        assert png.format == "PNG" and png.size[0] > 100
    failed = two_runs / "failed"  # a sweep's trial that failed before its first log
    failed.mkdir()
    (failed / "config.toml").write_text((two_runs / "a" / "config.toml").read_text())
    (failed / "metrics.jsonl").write_text("")
    assert plotting.plot_curves([two_runs / "a", failed], "loss", tmp_path / "d.png",
                                skip_missing=True) == [two_runs / "a"]
    with pytest.raises(ValueError, match="image format"):
        plotting.plot_curves([two_runs / "a"], "loss", tmp_path / "c.txt")
    with pytest.raises(ValueError, match="no metric"):
        plotting.plot_curves([two_runs / "a"], "loss_g", tmp_path / "g.png")


def test_plot_without_matplotlib_says_how_to_get_it(two_runs, tmp_path, monkeypatch):
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "dlcore\[plot\]"'):
        plotting.plot_curves([two_runs / "a"], "loss", tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
