"""``run``: one experiment from config to run directory; what ``dl train`` (and sweeps) call.

The run directory holds::

    config.toml             the fully resolved config
    metrics.jsonl           one JSON object per epoch ("train") and per evaluation ("eval")
    summary.json            final and best metrics, wall time, samples/s, seed, CPU path, ...
    checkpoints/last.npz    the state after the latest epoch (or interruption)
    checkpoints/best.npz    the state after the epoch with the best evaluation

Everything that can be wrong with the config is reported before any data is fetched or
trained on.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import dlcore
from dlcore import data, kernels

from . import checkpoint, components, metrics
from .callbacks import Evaluation, ScheduleStep, Snapshot
from .config import Experiment, load, parse
from .signals import deferred_stop
from .trainer import LOGGED, Interrupted, Trainer, evaluate

Report = Callable[[dict], None]


class ConfigChanged(ValueError):
    """Resuming with a config that differs from the run's; ``changes`` lists the keys."""

    def __init__(self, run_dir: Path, changes: list[str]):
        self.changes = changes
        super().__init__(f"the config differs from the one {run_dir} was trained with:\n  "
                         + "\n  ".join(changes)
                         + "\npass --allow-config-change to resume with it anyway")


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
        threads: int | None = None, allow_config_change: bool = False) -> dict:
    """Train the experiment ``config`` (an Experiment or a TOML path) into ``run_dir``.

    ``resume``: a run directory (or checkpoint file) to continue exactly where it stopped;
    a config that differs from the run's raises :class:`ConfigChanged` unless
    ``allow_config_change``. ``report(record)`` receives every record (see
    :mod:`dlcore.train.trainer`) plus ``"fetch"`` records while missing data is downloaded.
    ``threads`` sets the kernels' thread count. Returns the summary (also in summary.json).

    Raises :class:`RunInterrupted` on SIGINT/SIGTERM (after saving ``last.npz``) and
    :class:`~dlcore.train.trainer.NonFiniteLoss` on a NaN/inf loss (keeping the last good
    checkpoint).
    """
    started = time.perf_counter()
    experiment = config if isinstance(config, Experiment) else load(config)
    run_dir = Path(run_dir)
    report = report or (lambda record: None)
    if threads is not None:
        kernels.set_num_threads(threads)
    saved = _load_resume_state(resume, experiment, allow_config_change)

    dlcore.manual_seed(experiment.train["seed"])
    model = components.build_model(experiment)
    optimizer = components.build_optimizer(experiment, model)
    scheduler = components.build_scheduler(experiment, optimizer)
    task = components.task(experiment)
    train_set, eval_set = _datasets(experiment, report)

    batch_size = experiment.data["batch_size"]
    loader = data.DataLoader(train_set, batch_size, shuffle=experiment.data["shuffle"],
                             seed=experiment.train["seed"])
    eval_loader = data.DataLoader(eval_set, batch_size)
    monitor, mode = metrics.monitor(task)
    evaluation = Evaluation(lambda: evaluate(model, eval_loader, task),
                            experiment.data["eval_split"], experiment.train["eval_every"],
                            monitor, mode, experiment.train["patience"])
    wall_before = 0.0 if saved is None else saved["wall_seconds"]

    def save(which: str) -> None:
        wall = wall_before + time.perf_counter() - started
        checkpoint.save(checkpoint_path(run_dir, which),
                        {**trainer.state_dict(), "config": experiment.sections(),
                         "name": experiment.name, "wall_seconds": wall})

    log = MetricsLog(run_dir / "metrics.jsonl")

    def log_and_report(record: dict) -> None:
        log.write(record)
        report(record)

    trainer = Trainer(model, optimizer, loader, task, epochs=experiment.train["epochs"],
                      scheduler=scheduler, schedule_interval=experiment.schedule["interval"],
                      clip_grad_norm=experiment.train["clip_grad_norm"],
                      callbacks=(evaluation, ScheduleStep(), Snapshot(save, evaluation)),
                      report=log_and_report)
    if saved is not None:
        trainer.load_state_dict(saved)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.atomic_write(run_dir / "config.toml",
                            lambda file: file.write(experiment.to_toml().encode()))
    log.rewrite(trainer.history)

    with deferred_stop() as received:
        trainer.should_stop = lambda: received() is not None
        try:
            trainer.fit()
        except Interrupted:
            save("last")
            raise RunInterrupted(received(), run_dir) from None
    summary = _summary(experiment, trainer, evaluation, run_dir,
                       wall_before + time.perf_counter() - started)
    write_json(run_dir / "summary.json", summary)
    return summary


def _load_resume_state(resume, experiment: Experiment, allow_config_change: bool) -> dict | None:
    """The checkpoint tree to resume from (None for a fresh run), its config checked."""
    if resume is None:
        return None
    resume = Path(resume)
    path = checkpoint_path(resume, "last") if resume.is_dir() else resume
    state = checkpoint.load(path)
    trained_with = parse(state["config"], name=state["name"])
    changes = trained_with.diff(experiment)
    if changes and not allow_config_change:
        raise ConfigChanged(resume, changes)
    return state


def _datasets(experiment: Experiment, report: Report):
    """The train and eval datasets, fetched first when their files are missing."""
    name = experiment.data["name"]
    if components.missing_data(experiment):
        report({"kind": "fetch", "dataset": name, "description": f"{name} is not on this "
                f"machine: fetching it (as `dl data fetch {name}` does)", "done": 0,
                "total": None})
        data.fetch_dataset(name, lambda description, done, total: report(
            {"kind": "fetch", "dataset": name, "description": description, "done": done,
             "total": total}))
    return (components.build_dataset(experiment, "train"),
            components.build_dataset(experiment, experiment.data["eval_split"]))


class MetricsLog:
    """metrics.jsonl: the logged records, one JSON object per line, appended as they come."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, record: dict) -> None:
        if record["kind"] in LOGGED:
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")

    def rewrite(self, records: list[dict]) -> None:
        """Replace the log by ``records`` (a resumed run drops lines written after its
        checkpoint, which it is about to redo)."""
        text = "".join(json.dumps(record) + "\n" for record in records)
        checkpoint.atomic_write(self.path, lambda f: f.write(text.encode()))


def _summary(experiment: Experiment, trainer: Trainer, evaluation: Evaluation, run_dir: Path,
             wall_seconds: float) -> dict:
    last = {kind: next((r for r in reversed(trainer.history) if r["kind"] == kind), None)
            for kind in LOGGED}
    return {
        "name": experiment.name,
        "run_dir": str(run_dir),
        "status": "stopped early" if trainer.stop_reason else "completed",
        "stop_reason": trainer.stop_reason,
        "epochs": trainer.epoch,
        "steps": trainer.global_step,
        "final": last,
        "best": evaluation.best,
        "monitor": evaluation.monitor,
        "wall_seconds": wall_seconds,
        "train_seconds": trainer.train_seconds,
        "samples_per_s": trainer.samples / trainer.train_seconds if trainer.train_seconds else 0.0,
        "seed": experiment.train["seed"],
        "backend": kernels.get_backend(),
        "cpu_path": kernels.cpu_path(),
        "threads": kernels.get_num_threads(),
        "version": dlcore.__version__,
    }
