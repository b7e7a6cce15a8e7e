"""``run``: one experiment from config to run directory; what ``dl train`` (and sweeps) call.

The run directory holds::

    config.toml             the fully resolved config
    metrics.jsonl           one JSON object per log interval ("train"), evaluation on the
                            validation part ("eval") and the final test ("test")
    summary.json            final and best metrics, wall time, samples/s, seed, CPU path, ...
    checkpoints/last.npz    the state at the latest checkpoint trigger (or interruption)
    checkpoints/best.npz    the state at the best validation evaluation

Everything that can be wrong with the config is reported before any data is fetched or
trained on.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dlcore
from dlcore import data, kernels

from . import checkpoint, components, sampling
from .callbacks import Evaluation, FinalTest, LogReport, SampleGrid, ScheduleStep, Snapshot
from .config import Experiment, load, parse
from .errors import ConfigError
from .signals import deferred_stop
from .tasks import ImageTask
from .trainer import LOGGED, Interrupted, Trainer
from .triggers import Trigger

Report = Callable[[dict], None]


class ConfigChanged(ValueError):
    """Resuming with a config that differs from the run's; ``changes`` lists the keys."""

    def __init__(self, run_dir: Path, changes: list[str]):
        self.changes = changes
        super().__init__(f"the config differs from the one {run_dir} was trained with:\n  "
                         + "\n  ".join(changes)
                         + "\npass --allow-config-change to resume with it anyway")


class RunExists(FileExistsError):
    """The output directory already holds a run, and replacing it was not asked for."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        super().__init__(f"{run_dir} already holds a run; continue it with --resume {run_dir}, "
                         f"write elsewhere with --out, or replace it with --overwrite")


class RunComplete(ValueError):
    """Resuming a run that has nothing left to do."""

    def __init__(self, run_dir, epochs: int, why: str):
        super().__init__(f"{run_dir} is already complete after {epochs} epochs{why}; to train "
                         f"further: dl train --resume {run_dir} --set train.epochs=N "
                         f"--allow-config-change")


class RunLocked(RuntimeError):
    """Another process is training into the same run directory."""

    def __init__(self, run_dir: Path, pid: str):
        self.run_dir, self.pid = run_dir, pid
        super().__init__(f"{run_dir} is being trained by another process (pid {pid or '?'}); "
                         f"wait for it to finish or stop it first")


#: What a run writes into its directory; anything else there is the user's and stays.
RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json", "eval.json", "checkpoints",
             "samples")
LOCK = ".lock"


def unique_run_dir(parent: str | os.PathLike, name: str) -> Path:
    """A new, empty directory ``parent/name``, or ``parent/name-2``, ``-3``... if taken:
    created here, so two runs started at the same moment never share one."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for index in range(1, 10_000):
        candidate = parent / (name if index == 1 else f"{name}-{index}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RunExists(parent / name)


def run_dir_of(target: str | os.PathLike) -> Path:
    """The run directory of ``target``: itself, or the run a checkpoint file belongs to."""
    target = Path(target)
    if target.is_dir():
        return target
    return target.parent.parent if target.parent.name == "checkpoints" else target.parent


def holds_run(run_dir: Path) -> bool:
    return any((run_dir / name).exists() for name in RUN_FILES)


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock (an advisory ``flock`` on ``.lock``, released by the kernel
    even if the process dies) for the block; RunLocked naming the holder if taken."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        file = open(run_dir / LOCK, "a+b", buffering=0)  # unbuffered: no write left to fail
    except OSError as error:  # an unwritable folder, a full disk
        raise _unwritable(run_dir / LOCK, error) from None
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            raise RunLocked(run_dir, file.read().decode(errors="replace").strip()) from None
        try:
            file.truncate(0)
            file.write(str(os.getpid()).encode())
        except OSError as error:
            raise _unwritable(run_dir / LOCK, error) from None
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def lock_held(run_dir: str | os.PathLike) -> bool:
    """True while another process trains into ``run_dir`` (holds the lock :func:`locked`
    takes): a shared, non-blocking attempt on ``.lock``, released at once, which never
    creates the file nor blocks a trainer beyond that instant."""
    try:
        file = open(Path(run_dir) / LOCK, "rb")
    except OSError:  # no lock file: never trained here, or unreadable: nothing to tell
        return False
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(file, fcntl.LOCK_UN)
        return False


def _unwritable(path: Path, error: OSError) -> checkpoint.CheckpointError:
    return checkpoint.CheckpointError(f"cannot write {path}: {error.strerror or error}")


class RunInterrupted(Exception):
    """A signal stopped the run after a step; ``last.npz`` holds the state to resume from."""

    def __init__(self, signum: int, run_dir: Path):
        self.signum, self.run_dir = signum, run_dir
        self.exit_code = 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
        super().__init__(f"stopped by {signal.Signals(signum).name}; the state after the last "
                         f"step is saved in {checkpoint_path(run_dir, 'last')}")


def checkpoint_path(run_dir: str | os.PathLike, which: str) -> Path:
    """``run_dir/checkpoints/{which}.npz`` (``which``: "last" or "best")."""
    return Path(run_dir) / "checkpoints" / f"{which}.npz"


def write_json(path: Path, value) -> None:
    checkpoint.atomic_write(path, lambda f: f.write(json.dumps(value, indent=2).encode()))


def run(config: Experiment | str | os.PathLike, *, run_dir: str | os.PathLike,
        resume: str | os.PathLike | None = None, report: Report | None = None,
        threads: int | None = None, allow_config_change: bool = False,
        overwrite: bool = False) -> dict:
    """Train the experiment ``config`` (an Experiment or a TOML path) into ``run_dir``.

    ``resume``: a run directory (or checkpoint file) to continue exactly where it stopped;
    a config that differs from the run's raises :class:`ConfigChanged` unless
    ``allow_config_change``. ``report(record)`` receives every record (see
    :mod:`dlcore.train.trainer`) plus ``"fetch"`` records while missing data is downloaded.
    ``threads`` sets the kernels' thread count. Returns the summary (also in summary.json).

    Nothing is replaced unasked: a ``run_dir`` that already holds a run raises
    :class:`RunExists` unless it is the run being resumed or ``overwrite`` is set (then only
    the run's own files go), and the directory is locked while training (another process
    gets :class:`RunLocked`).

    Raises :class:`RunInterrupted` on SIGINT/SIGTERM (after saving ``last.npz``) and
    :class:`~dlcore.train.updaters.NonFiniteLoss` on a NaN/inf loss (keeping the last good
    checkpoint).
    """
    run_dir = Path(run_dir)
    experiment = config if isinstance(config, Experiment) else load(config)
    components.check(experiment)
    with locked(run_dir):
        resuming_here = resume is not None and run_dir_of(resume).resolve() == run_dir.resolve()
        if holds_run(run_dir) and not resuming_here:
            if not overwrite:
                raise RunExists(run_dir)
            for name in RUN_FILES:
                path = run_dir / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        return _run(experiment, run_dir=run_dir, resume=resume, report=report, threads=threads,
                    allow_config_change=allow_config_change)


def _run(experiment: Experiment, *, run_dir: Path,
         resume: str | os.PathLike | None, report: Report | None, threads: int | None,
         allow_config_change: bool) -> dict:
    """The run itself, in a directory that is ours (locked, checked)."""
    started = time.perf_counter()
    report = report or (lambda record: None)
    if threads is not None:
        kernels.set_num_threads(threads)
    saved = _load_resume_state(resume, experiment, allow_config_change)
    train = experiment.train
    triggers = {key: Trigger.parse(train[key], clock=key == "checkpoint_every")
                for key in ("log_every", "eval_every", "checkpoint_every")}

    train_set, val_set, test_set = _datasets(experiment, report)
    test_split = experiment.data["test_split"]
    metadata = train_set.metadata
    experiment = components.resolve_data(experiment, metadata)
    dlcore.manual_seed(train["seed"])
    model = components.build_model(experiment)
    task = components.build_task(experiment, metadata)
    updater = components.build_updater(experiment, model, task)
    facts = {"model": experiment.model["name"],
             "parameters": sum(p.data.size for p in model.parameters()),
             "input_shape": metadata.get("input_shape")}
    if updater.needs_metric and "loss" not in task.metrics:
        raise ConfigError(f"schedule.name = \"plateau\" watches the loss, which the "
                          f"{task.name} task does not report")

    loader = components.build_loader(experiment, train_set, training=True)
    eval_loader = components.build_loader(experiment, val_set or test_set)
    wall_before = 0.0 if saved is None else saved["wall_seconds"]

    def save(which: str) -> None:
        wall = wall_before + time.perf_counter() - started
        checkpoint.save(checkpoint_path(run_dir, which),
                        {**trainer.state_dict(), "config": experiment.sections(),
                         "metadata": metadata, "name": experiment.name, "wall_seconds": wall})

    evaluation = Evaluation(triggers["eval_every"], lambda: task.evaluate(model, eval_loader),
                            "validation" if val_set else test_split, train["monitor"],
                            task.metrics[train["monitor"]], train["patience"],
                            on_improve=lambda: save("best"))
    log = MetricsLog(run_dir / "metrics.jsonl")

    def log_and_report(record: dict) -> None:
        log.write(record)
        report(record)

    test_loader = components.build_loader(experiment, test_set)
    final_test = () if val_set is None else (
        FinalTest(lambda: task.evaluate(model, test_loader), test_split),)
    grids = (SampleGrid(triggers["eval_every"], lambda step: sampling.progress_grid(
        task, model, val_set or test_set, run_dir / "samples", step)),
    ) if isinstance(task, ImageTask) and task.images_made else ()
    trainer = Trainer(updater, loader, epochs=train["epochs"],
                      callbacks=(LogReport(triggers["log_every"]), evaluation, *grids,
                                 ScheduleStep(Trigger.parse(1)), *final_test,
                                 Snapshot(triggers["checkpoint_every"], save)),
                      report=log_and_report)
    if saved is not None:
        try:
            trainer.load_state_dict(saved)
        except (KeyError, ValueError, TypeError) as error:
            raise checkpoint.CheckpointError(
                f"the checkpoint in {resume} does not fit this experiment's model and "
                f"optimizers ({type(error).__name__}: {error}); was it trained with another "
                f"config?") from None
        if trainer.stop_reason is not None or trainer.epoch >= trainer.epochs:
            if not allow_config_change:
                why = f" ({trainer.stop_reason})" if trainer.stop_reason else ""
                raise RunComplete(resume, trainer.epoch, why)
            trainer.stop_reason = None  # the config changed on purpose: train on
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.atomic_write(run_dir / "config.toml",
                            lambda file: file.write(experiment.to_toml().encode()))
    log.rewrite(trainer.history)
    report({"kind": "run", "run_dir": str(run_dir), "config": str(run_dir / "config.toml"),
            "name": experiment.name, **facts,
            "dataset": experiment.data["name"], "sizes": {
                "train": len(train_set), **({"validation": len(val_set)} if val_set else {}),
                test_split: len(test_set)},
            "epochs": train["epochs"], "steps_per_epoch": len(loader),
            "resumed_at_step": trainer.global_step if saved is not None else None,
            "cpu_path": kernels.cpu_path(), "threads": kernels.get_num_threads()})

    with deferred_stop() as received:
        trainer.should_stop = lambda: received() is not None
        try:
            trainer.fit()
        except Interrupted:
            save("last")
            raise RunInterrupted(received(), run_dir) from None
    summary = _summary(experiment, trainer, evaluation, run_dir,
                       wall_before + time.perf_counter() - started, facts)
    write_json(run_dir / "summary.json", summary)
    return summary


def _load_resume_state(resume, experiment: Experiment, allow_config_change: bool) -> dict | None:
    """The checkpoint tree to resume from (None for a fresh run), its config checked (with
    the options the data filled in filled alike from the checkpoint's data description)."""
    if resume is None:
        return None
    resume = Path(resume)
    path = checkpoint_path(resume, "last") if resume.is_dir() else resume
    if resume.is_dir() and not path.is_file():
        raise checkpoint.CheckpointError(
            f"{resume} is not a run directory with a checkpoint to resume (no "
            f"checkpoints/last.npz); a run saves one at its first checkpoint trigger")
    state = checkpoint.load(path)
    trained_with = parse(state["config"], name=state["name"])
    changes = trained_with.diff(components.resolve_data(experiment, state["metadata"]))
    if changes and not allow_config_change:
        raise ConfigChanged(resume, changes)
    return state


def _datasets(experiment: Experiment, report: Report):
    """(train, validation or None, test) datasets, fetched first when their files are
    missing; the validation part is ``data.val_fraction`` of the training split, held out
    by the run's seed."""
    name = experiment.data["name"]
    if components.missing_data(experiment):
        report({"kind": "fetch", "dataset": name, "description": f"{name} is not on this "
                f"machine: fetching it (as `dl data fetch {name}` does)", "done": 0,
                "total": None})
        data.fetch_dataset(name, lambda description, done, total: report(
            {"kind": "fetch", "dataset": name, "description": description, "done": done,
             "total": total}))
    train, validation = components.build_dataset(experiment, "train"), None
    if experiment.data["val_fraction"]:
        train, validation = components.split_validation(experiment, train)
    return train, validation, components.build_dataset(experiment, experiment.data["test_split"])


class MetricsLog:
    """metrics.jsonl: the logged records, one JSON object per line, appended as they come."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, record: dict) -> None:
        if record["kind"] in LOGGED:
            try:
                with open(self.path, "a", encoding="utf-8") as file:
                    file.write(json.dumps(record) + "\n")
            except OSError as error:
                raise _unwritable(self.path, error) from None

    def rewrite(self, records: list[dict]) -> None:
        """Replace the log by ``records`` (a resumed run drops lines written after its
        checkpoint, which it is about to redo)."""
        text = "".join(json.dumps(record) + "\n" for record in records)
        checkpoint.atomic_write(self.path, lambda f: f.write(text.encode()))


def _summary(experiment: Experiment, trainer: Trainer, evaluation: Evaluation, run_dir: Path,
             wall_seconds: float, facts: dict) -> dict:
    """What summary.json holds; ``facts``: the model's name, parameter count and input shape."""
    last = {kind: next((r for r in reversed(trainer.history) if r["kind"] == kind), None)
            for kind in LOGGED}
    return {
        "name": experiment.name,
        "task": experiment.task["name"],
        **facts,
        "run_dir": str(run_dir),
        "status": "stopped early" if trainer.stop_reason else "completed",
        "stop_reason": trainer.stop_reason,
        "epochs": trainer.epoch,
        "steps": trainer.global_step,
        "final": {kind: last[kind] for kind in ("train", "eval")},
        "test": last["test"] or (last["eval"] if last["eval"] and last["eval"]["split"] ==
                                 experiment.data["test_split"] else None),
        "best": evaluation.best,
        "monitor": evaluation.monitor,
        "wall_seconds": wall_seconds,
        "train_seconds": trainer.train_seconds,
        "samples_per_s": trainer.samples / trainer.train_seconds if trainer.train_seconds else 0.0,
        "seed": experiment.train["seed"],
        **kernels.build_info(),
        "version": dlcore.__version__,
    }
