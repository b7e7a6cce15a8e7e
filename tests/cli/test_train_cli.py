"""`dl train` / `dl eval` as a user meets them: exit codes, messages, JSON, signals."""
import json
import signal
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from dlcore import kernels
from dlcore.cli.train import evaluate, train
from dlcore.train import checkpoint

SPIRALS = textwrap.dedent("""
    [model]
    name = "mlp"
    in_features = 2
    hidden = [32, 32]
    num_classes = 2

    [data]
    name = "two-spirals"
    num_samples = 2000
    batch_size = 50

    [optim]
    name = "adam"
    lr = 0.01

    [train]
    epochs = 2
""")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "spirals.toml"
    path.write_text(SPIRALS)
    return path


def invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


def test_train_json_prints_the_summary_and_writes_the_run(tmp_path, config):
    result = invoke(train, config, "--out", tmp_path / "run", "--json", "--progress", "none")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["epochs"] == 2
    assert (tmp_path / "run" / "checkpoints" / "last.npz").is_file()


def test_plain_progress_prints_one_line_per_epoch_and_every_n_steps(tmp_path, config):
    result = invoke(train, config, "--out", tmp_path / "run", "--log-every", "20",
                    "--set", "train.epochs=1")
    assert result.exit_code == 0
    context, lines = result.stderr.splitlines()[:5], result.stderr.splitlines()[5:]
    # 10 % of the 2000 samples are held out for validation: 36 steps of 50.
    assert context == [
        f"run {tmp_path / 'run'}", f"  config {tmp_path / 'run' / 'config.toml'}",
        "model mlp, 1,218 parameters; data two-spirals",
        "  train 1,800, validation 200, test 2,000",
        f"1 epochs x 36 steps; kernels {kernels.cpu_path()}, {kernels.get_num_threads()} "
        f"thread{'s' * (kernels.get_num_threads() != 1)}"]
    assert [line.split()[2] for line in lines] == ["step", "train", "val", "test"]
    assert lines[0].startswith("epoch 1/1") and "step 20/36" in lines[0]
    assert all(len(line) <= 80 for line in result.output.splitlines() if str(tmp_path)
               not in line), result.output
    assert "completed after 1 epoch (36 steps)" in result.stdout
    assert "\ntest: loss" in result.stdout and "\nbest validation: loss" in result.stdout


def test_default_run_directory_is_under_runs_named_after_the_config(tmp_path, config,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(train, config, "--set", "train.epochs=1", "--progress", "none").exit_code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("spirals-")


@pytest.mark.parametrize("args, message", [
    (["--set", "train.epoch=3"], "unknown key train.epoch (did you mean 'epochs'?)"),
    (["--set", "train.epochs=three"], 'train.epochs must be an integer, got "three"'),
    (["--set", "optim.lr=-1"], "[optim] adam: Adam: lr must be in [0, inf], got -1.0"),
    (["--set", "epochs"], "--set expects section.key=value"),
])
def test_config_errors_exit_1_before_any_work(tmp_path, config, args, message):
    result = invoke(train, config, "--out", tmp_path / "run", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "run").exists()


def test_train_needs_a_config_or_a_run_to_resume():
    result = CliRunner().invoke(train, [])
    assert result.exit_code == 2 and "give a CONFIG file, or --resume RUN_DIR" in result.stderr


def test_resume_refuses_a_changed_config_and_lists_the_keys(tmp_path, config):
    run_dir = tmp_path / "run"
    invoke(train, config, "--out", run_dir, "--progress", "none")
    result = invoke(train, "--resume", run_dir, "--set", "train.epochs=3", "--set",
                    "optim.lr=0.02")
    assert result.exit_code == 1
    assert "optim.lr: 0.01 -> 0.02" in result.stderr and "train.epochs: 2 -> 3" in result.stderr
    assert "--allow-config-change" in result.stderr
    result = invoke(train, "--resume", run_dir, "--set", "train.epochs=3", "--set",
                    "optim.lr=0.02", "--allow-config-change", "--json", "--progress", "none")
    assert result.exit_code == 0 and json.loads(result.stdout)["epochs"] == 3


def test_a_nan_loss_exits_1_naming_the_step_and_the_kept_checkpoint(tmp_path, config):
    result = invoke(train, config, "--out", tmp_path / "run", "--set", "optim.name=sgd",
                    "--set", "optim.lr=1e6", "--set", "train.epochs=3", "--progress", "none")
    assert result.exit_code == 1
    assert "the loss is" in result.stderr and "at step" in result.stderr


def test_eval_prints_metrics_and_a_confusion_matrix(tmp_path, config):
    invoke(train, config, "--out", tmp_path / "run", "--progress", "none")
    result = invoke(evaluate, tmp_path / "run")
    assert result.exit_code == 0
    assert "best.npz (epoch" in result.stdout and "acc" in result.stdout
    assert "confusion matrix" in result.stdout
    as_json = json.loads(invoke(evaluate, tmp_path / "run", "--data", "train", "--json").stdout)
    assert as_json["split"] == "train" and len(as_json["confusion_matrix"]) == 2
    assert json.loads((tmp_path / "run" / "eval.json").read_text()) == as_json


def test_eval_of_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "last.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    result = invoke(evaluate, bad)
    assert result.exit_code == 1 and "not a readable dlcore checkpoint" in result.stderr


def train_for_long(config, run_dir):
    """`dl train` in a child process for 1000 epochs, its progress lines on stderr."""
    command = [sys.executable, "-c", "from dlcore.cli.train import train; train()",
               str(config), "--out", str(run_dir), "--set", "train.epochs=1000",
               "--progress", "plain"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    context = [process.stderr.readline() for _ in range(5)]  # before the first step
    assert context[0].startswith("run ") and " parameters; data " in context[2], context
    return process


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_state_prints_the_resume_command_and_exits(tmp_path, config,
                                                                        signum, code):
    run_dir = tmp_path / "run"
    process = train_for_long(config, run_dir)
    first_line = process.stderr.readline()  # an epoch is done: training is under way
    assert first_line.startswith("epoch 1/1000"), first_line
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"resume with: dl train --resume {run_dir}" in stderr
    done = checkpoint.load(run_dir / "checkpoints" / "last.npz")["trainer"]["epoch"]
    resumed = invoke(train, "--resume", run_dir, "--set", f"train.epochs={done + 1}",
                     "--allow-config-change", "--json", "--progress", "none")
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["epochs"] == done + 1


@pytest.mark.parametrize("lines_before_kill", [3, 8, 17])  # epoch 2 started: one save done
def test_sigkill_at_any_moment_leaves_a_loadable_last_checkpoint(tmp_path, config,
                                                                 lines_before_kill):
    """Checkpoints are written every epoch (every ~10 ms here), so a kill lands mid-write
    sooner or later; the rename makes last.npz either the old or the new file."""
    run_dir = tmp_path / "run"
    process = train_for_long(config, run_dir)
    for _ in range(lines_before_kill):
        process.stderr.readline()
    process.kill()
    process.wait(timeout=30)
    state = checkpoint.load(run_dir / "checkpoints" / "last.npz")
    done = state["trainer"]["epoch"]
    assert done >= 1
    resumed = invoke(train, "--resume", run_dir, "--set", f"train.epochs={done + 1}",
                     "--allow-config-change", "--json", "--progress", "none")
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["epochs"] == done + 1


def test_the_gaussian_gan_example_trains_from_dl_train_and_logs_both_losses(tmp_path):
    from pathlib import Path
    example = Path(__file__).parents[2] / "examples" / "gan" / "gaussian.toml"
    result = CliRunner().invoke(
        train, [str(example), "--out", str(tmp_path / "gan"), "--progress", "plain",
                "--set", "train.epochs=2", "--set", "optim.generator.lr=0.004"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines()
             if line.startswith("epoch") and " train " in line]
    assert len(lines) == 2 and "loss_D" in lines[0] and "loss_G" in lines[0]
    assert "lr_generator 0.004" in lines[0] and "lr_discriminator 0.05" in lines[0]
    assert "FD " in result.stderr and "completed after 2 epochs" in result.stdout
    assert "[optim.generator]\nname = \"adam\"\nlr = 0.004" in \
        (tmp_path / "gan" / "config.toml").read_text()


def test_out_on_an_existing_run_is_refused_unless_overwrite(tmp_path, config, monkeypatch):
    run_dir = tmp_path / "run"
    args = (config, "--out", run_dir, "--progress", "none", "--set", "train.epochs=1")
    assert invoke(train, *args).exit_code == 0
    refused = invoke(train, *args)
    assert refused.exit_code == 1 and "already holds a run" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert invoke(train, *args, "--overwrite").exit_code == 0
    monkeypatch.chdir(tmp_path)  # two auto-named runs in the same second: two directories
    monkeypatch.setattr("time.strftime", lambda fmt: "20261206-120000")
    for _ in range(2):
        assert invoke(train, config, "--progress", "none", "--set", "train.epochs=1"
                      ).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "spirals-20261206-120000", "spirals-20261206-120000-2"]


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                              str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(ballast):
    """Write ``ballast`` until the disk is full (unbuffered: nothing left to fail on close)."""
    with open(ballast, "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_really_full_disk_is_one_line_and_keeps_the_last_checkpoint(small_disk, config):
    """No mock: the disk fills up during epoch 2 (a ballast file takes the rest of it), so the
    next save meets ENOSPC from the kernel."""
    run_dir = small_disk / "run"
    ballast = small_disk / "ballast"

    def fill_the_disk(record):
        if record["kind"] == "step" and record["step"] == record["steps_per_epoch"] + 1:
            fill(ballast)

    from dlcore.train import run as run_training
    from dlcore.train import CheckpointError, load
    with pytest.raises(CheckpointError, match="No space left on device"):
        run_training(load(config, ["train.epochs=3"]), run_dir=run_dir, report=fill_the_disk)
    assert checkpoint.load(run_dir / "checkpoints" / "last.npz")["trainer"]["epoch"] == 1
    leftovers = [p.name for p in run_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    ballast.unlink()                                     # room again: the run resumes
    resumed = invoke(train, "--resume", run_dir, "--json", "--progress", "none")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["epochs"] == 3


def test_a_full_disk_from_dl_train_is_one_line(small_disk, config):
    fill(small_disk / "ballast")                         # full before the run starts
    result = invoke(train, config, "--out", small_disk / "run", "--progress", "none")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "No space left on device" in result.stderr


@pytest.mark.parametrize("saved", [False, True])
def test_a_second_ctrl_c_says_what_can_be_done(tmp_path, config, monkeypatch, saved):
    """The second Ctrl-C stops at once (KeyboardInterrupt): the resume command is offered only
    when a checkpoint exists, else how to start again."""
    from dlcore import train as training
    run_dir = tmp_path / "run"

    def interrupted(experiment, run_dir, **kwargs):
        if saved:
            checkpoint.save(training.checkpoint_path(run_dir, "last"), {"x": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "run", interrupted)
    result = invoke(train, config, "--out", run_dir, "--progress", "none")
    assert result.exit_code == 130
    if saved:
        assert f"resume from the last checkpoint with: dl train --resume {run_dir}" in \
            result.stderr
    else:
        assert "before the first checkpoint: nothing to resume" in result.stderr
        assert f"--out {run_dir} --overwrite" in result.stderr
