"""dl sweep: the trials a grid and a random search mean, a local sweep of a 2x2 grid (every
trial an ordinary run), re-running skips and resumes, a failing trial is recorded while the
others go on, Ray runs the same grid to the same results, and the command line."""
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlcore.cli.main import cli
from dlcore.train import RunInterrupted, load, run
from dlcore.train import sweep as sw

from .conftest import stop_at

CONFIG = """
[model]
name = "mlp"
in_features = 2
hidden = [16]
num_classes = 2

[data]
name = "two-spirals"
num_samples = 400
batch_size = 50

[optim]
name = "adam"
lr = 0.01

[train]
epochs = 3
seed = 0
"""
GRID = ["optim.lr=0.003,0.03", "model.hidden=[8],[16, 16]"]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "spirals.toml"
    path.write_text(CONFIG)
    return path


def comparable(records):
    """What must agree between two sweeps of one grid: per trial, overrides and metrics."""
    return {r["trial"]: (r["overrides"], r["status"], r["value"], r["best"], r["test"])
            for r in records}


class TestSpec:
    def test_a_grid_is_the_product_of_its_axes_first_axis_slowest(self, config):
        spec = sw.build_spec(config, GRID)
        assert spec.trials() == [
            ("optim.lr=0.003", "model.hidden=[8]"), ("optim.lr=0.003", "model.hidden=[16, 16]"),
            ("optim.lr=0.03", "model.hidden=[8]"), ("optim.lr=0.03", "model.hidden=[16, 16]")]
        assert (spec.metric, spec.mode) == ("val.accuracy", "max")

    def test_a_random_search_is_the_same_draws_every_time(self, config):
        space = ["optim.lr=loguniform:1e-4:1e-1", "model.hidden=choice:[8],[16]",
                 "train.epochs=randint:1:3"]
        first = sw.build_spec(config, space=space, random=5, seed=3).trials()
        assert first == sw.build_spec(config, space=space, random=5, seed=3).trials()
        assert first != sw.build_spec(config, space=space, random=5, seed=4).trials()
        lrs = [float(t[0].split("=")[1]) for t in first]
        assert len(first) == 5 and all(1e-4 <= lr <= 1e-1 for lr in lrs)
        assert {t[1] for t in first} <= {"model.hidden=[8]", "model.hidden=[16]"}
        grid_and_random = sw.build_spec(config, ["train.seed=0,1"], space[:1], random=2)
        assert [t[0] for t in grid_and_random.trials()] == ["train.seed=0"] * 2 + \
            ["train.seed=1"] * 2

    def test_the_spec_can_live_in_the_config(self, tmp_path):
        path = tmp_path / "c.toml"
        path.write_text(CONFIG + '\n[sweep]\ngrid = {"optim.lr" = [0.01, 0.1]}\n'
                        'metric = "val.loss"\n')
        spec = sw.build_spec(path)
        assert spec.trials() == [("optim.lr=0.01",), ("optim.lr=0.1",)]
        assert (spec.metric, spec.mode) == ("val.loss", "min")
        assert load(path).optim["model"]["lr"] == 0.01  # a single run ignores [sweep]

    @pytest.mark.parametrize("kwargs, match", [
        ({}, "nothing to sweep"),
        ({"space": ["optim.lr=uniform:0:1"]}, "needs --random N"),
        ({"random": 3}, "needs a search space"),
        ({"grid": ["optim.lr=0.1"], "space": ["optim.lr=uniform:0:1"], "random": 2},
         "both a grid axis"),
        ({"grid": ["optim.learning_rate=0.1"]}, "unknown key optim.learning_rate"),
        ({"grid": ["lr=0.1"]}, "section.key"),
        ({"space": ["optim.lr=loguniform:0:1"], "random": 2}, "low > 0"),
        ({"space": ["optim.lr=normal:0:1"], "random": 2}, "unknown distribution"),
        ({"grid": ["optim.lr=0.1"], "metric": "val.bleu"}, "reports loss, accuracy"),
        ({"grid": ["optim.lr=0.1"], "metric": "train.loss"}, "val.<name>"),
    ])
    def test_bad_specs_get_one_line_errors(self, config, kwargs, match):
        with pytest.raises(sw.SweepError if "unknown key" not in match else Exception,
                           match=match):
            sw.build_spec(config, **kwargs)


def test_a_local_grid_sweep_makes_ordinary_runs_and_ranks_them(config, tmp_path):
    out = tmp_path / "sweep"
    seen = []
    records = sw.run_sweep(sw.build_spec(config, GRID), out, workers=2, threads_per_trial=1,
                           report=seen.append)
    assert len(records) == len(seen) == 4 and {r["status"] for r in records} == {"completed"}
    values = [r["value"] for r in records]
    assert values == sorted(values, reverse=True)  # best first
    lines = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [line["trial"] for line in lines] == [0, 1, 2, 3]
    for line in lines:
        summary = json.loads((out / line["name"] / "summary.json").read_text())
        assert line["value"] == summary["best"]["accuracy"] and line["seed"] == 0
    hidden = json.loads((out / "trial-001" / "summary.json").read_text())["parameters"]
    assert hidden == 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2  # model.hidden=[16, 16] applied
    result = CliRunner().invoke(cli, ["eval", str(out / "trial-002"), "--json"])
    assert result.exit_code == 0 and "accuracy" in json.loads(result.output)
    listed = json.loads(CliRunner().invoke(cli, ["runs", str(out), "--json"]).output)
    assert [(Path(r["path"]).name, r["status"]) for r in listed] == [
        (f"trial-00{i}", "completed") for i in range(4)]
    if importlib.util.find_spec("matplotlib"):
        result = CliRunner().invoke(cli, ["plot", str(out), "--metric", "accuracy", "--out",
                                          str(tmp_path / "sweep.png")])
        assert result.exit_code == 0 and "of 4 runs" in result.output


def test_an_interrupted_sweep_goes_on_where_it_stopped(config, tmp_path):
    spec = sw.build_spec(config, GRID)
    reference = sw.run_sweep(spec, tmp_path / "reference")
    out = tmp_path / "sweep"

    def stop_after_the_first(record):
        raise KeyboardInterrupt
    with pytest.raises(sw.SweepInterrupted):
        sw.run_sweep(spec, out, report=stop_after_the_first)
    assert (out / "trial-000" / "summary.json").is_file()
    first_finished = (out / "trial-000" / "summary.json").stat().st_mtime_ns
    # trial 3 stopped half-way, as Ctrl-C leaves a trial in progress (tiny trials may all
    # have finished before the sweep stopped: do it again)
    shutil.rmtree(out / "trial-003", ignore_errors=True)
    with pytest.raises(RunInterrupted):
        run(load(config, [*spec.trials()[3]]), run_dir=out / "trial-003",
            report=stop_at(7, signal.SIGINT))
    assert not (out / "trial-003" / "summary.json").is_file()
    records = sw.run_sweep(spec, out)
    assert comparable(records) == comparable(reference)  # resumed exactly
    assert (out / "trial-000" / "summary.json").stat().st_mtime_ns == first_finished
    with pytest.raises(sw.SweepError, match="holds another sweep"):
        sw.run_sweep(sw.build_spec(config, ["optim.lr=0.5"]), out)


def test_failing_trials_are_recorded_and_the_others_go_on(config, tmp_path):
    """One trial raises (a negative width), one's loss goes NaN (SGD at lr 1e30)."""
    spec = sw.build_spec(config, ['optim.name="adam","sgd"',
                                  "optim.lr=0.01,1e30", "model.hidden=[8],[-4]"])
    records = sw.run_sweep(spec, tmp_path / "sweep", workers=2, threads_per_trial=1)
    by_overrides = {" ".join(r["overrides"]): r for r in records}
    raised = by_overrides['optim.name="adam" optim.lr=0.01 model.hidden=[-4]']
    assert raised["status"] == "failed" and "out_features" in raised["error"]
    nan = by_overrides['optim.name="sgd" optim.lr=1e+30 model.hidden=[8]']
    assert nan["status"] == "failed" and "non-finite loss: the loss is nan" in nan["error"]
    assert (Path(nan["run_dir"]) / "failed.json").is_file()
    fine = by_overrides['optim.name="adam" optim.lr=0.01 model.hidden=[8]']
    assert fine["status"] == "completed" and records[0] is fine
    assert all(r["value"] is None for r in records if r["status"] == "failed")
    assert records[-1]["status"] == "failed"  # ranked last


def test_more_threads_than_cores_is_refused_saying_why():
    with pytest.raises(sw.SweepError, match="3 threads on a machine with 2 cores"):
        sw.check_resources(3, 1, cores=2)


def test_ray_runs_the_same_grid_and_random_search_to_the_same_results(config, tmp_path):
    ray = pytest.importorskip("ray")
    specs = {"grid": sw.build_spec(config, GRID),
             "random": sw.build_spec(config, space=["optim.lr=loguniform:1e-3:1e-1"],
                                     random=2, seed=7)}
    local = {name: sw.run_sweep(spec, tmp_path / f"local-{name}", workers=2,
                                threads_per_trial=1) for name, spec in specs.items()}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = {name: sw.run_sweep(spec, tmp_path / f"ray-{name}", threads_per_trial=1,
                                     executor="ray") for name, spec in specs.items()}
    finally:
        ray.shutdown()
    for name in specs:
        assert comparable(remote[name]) == comparable(local[name])


def test_dl_sweep_prints_the_trials_best_first(config, tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(cli, ["sweep", str(config), "--grid", "optim.lr=0.003,0.03",
                                      "--workers", "1", "--threads-per-trial", "1", "--out",
                                      str(out), "--json"])
    assert result.exit_code == 0, result.output
    trials = json.loads(result.output)["trials"]
    assert [t["overrides"] for t in sorted(trials, key=lambda t: t["trial"])] == [
        ["optim.lr=0.003"], ["optim.lr=0.03"]]
    result = CliRunner().invoke(cli, ["sweep", str(config), "--grid", "optim.lr=0.003,0.03",
                                      "--out", str(out)])
    assert result.exit_code == 0 and "2 trials by val.accuracy" in result.output
    result = CliRunner().invoke(cli, ["sweep", str(config), "--grid", "optim.lr=0.1",
                                      "--workers", "64", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "cores" in result.output


def test_a_signal_to_the_sweep_stops_every_running_trial_with_a_checkpoint(config, tmp_path):
    """SIGINT or SIGTERM to the sweep's process alone (not its group): it passes Ctrl-C on to
    its workers, whose trials save last.npz and are recorded as interrupted; none is left
    running and the queued trial never starts."""
    long = tmp_path / "long.toml"
    long.write_text(CONFIG.replace("epochs = 3", "epochs = 100000"))
    out = tmp_path / "sweep"
    process = subprocess.Popen([sys.executable, "-m", "dlcore.cli.main", "sweep", str(long),
                                "--grid", "optim.lr=0.01,0.02,0.03", "--workers", "2",
                                "--threads-per-trial", "1", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not all((out / f"trial-00{i}" / "metrics.jsonl").is_file() for i in (0, 1)):
        assert time.monotonic() < deadline and process.poll() is None, process.stdout.read()
        time.sleep(0.2)
    time.sleep(1.0)  # both trials are training
    children = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(process.pid)],
                                                   capture_output=True, text=True).stdout.split()]
    assert len(children) >= 2  # the workers (and multiprocessing's resource tracker)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "sweep interrupted" in output
    records = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [(r["trial"], r["status"]) for r in records] == [(0, "interrupted"),
                                                            (1, "interrupted")]
    for i in (0, 1):
        assert (out / f"trial-00{i}" / "checkpoints" / "last.npz").is_file()
    assert not (out / "trial-002").exists()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children):  # none is left training
        assert time.monotonic() < deadline, [open(f"/proc/{pid}/cmdline").read()
                                             for pid in children if _alive(pid)]
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_asha_stops_the_trials_that_trail_and_keeps_their_records(tmp_path):
    pytest.importorskip("ray.tune")
    path = tmp_path / "spirals.toml"
    path.write_text(CONFIG.replace("epochs = 3", "epochs = 6")
                    .replace("num_samples = 400", "num_samples = 2000"))
    spec = sw.build_spec(path, ["optim.lr=0.03,0.01,0.000001,0.0000001"])
    out = tmp_path / "sweep"
    records = sw.run_sweep(spec, out, workers=1, threads_per_trial=1, executor="ray",
                           early_stop="asha")  # one at a time: the rungs fill in grid order
    status = {r["trial"]: r["status"] for r in records}
    assert status == {0: "completed", 1: "completed", 2: "stopped early", 3: "stopped early"}
    stopped = [r for r in records if r["status"] == "stopped early"]
    assert all(r["value"] is not None and r["epochs"] < 6 for r in stopped)
    assert records[0]["trial"] == 0  # lr 0.03 learns the spirals best
    again = sw.run_sweep(spec, out, executor="ray", early_stop="asha")  # all final: no Ray
    assert comparable(again) == comparable(records)
    with pytest.raises(sw.SweepError, match="add --executor ray"):
        sw.run_sweep(spec, tmp_path / "x", early_stop="asha")
