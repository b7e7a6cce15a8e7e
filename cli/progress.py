"""Showing a run's records to a person: a Rich progress bar on a terminal, plain lines in logs.

Both displays are ``report`` callbacks for :func:`dlcore.train.run` (the library only emits
records). Both first show the run's context (directory, model and its size, data sizes,
kernel path and threads). The bar shows epoch, step, the task's metrics, samples/s and the
ETA of the epoch and of the whole run, and leaves one line per log record and evaluation
(the bar itself vanishes at the end); the plain display prints those lines (and one every
``log_every`` steps). Lines fit 80 columns.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO

MODES = ("auto", "bar", "plain", "none")


def describe(record: dict, epochs: int | None) -> str:
    """One line for a "step", "train" or "eval" record: ``epoch 2/10  train  loss 0.41 ...``."""
    epoch = f"epoch {record['epoch']}/{epochs}" if epochs else f"epoch {record['epoch']}"
    split = {"validation": "val"}.get(record.get("split"), record.get("split"))
    label = {"train": "train", "eval": split, "test": split,
             "step": f"step {record.get('step_in_epoch')}/{record.get('steps_per_epoch')}"}
    line = f"{epoch:<12}  {label[record['kind']]:<5}  {metrics_text(record)}"
    if record["kind"] == "train":
        lrs = "  ".join(f"{key} {value:.3g}" for key, value in record.items()
                        if key == "lr" or key.startswith("lr_"))
        line += (f"  {lrs}  {record['samples_per_s']:,.0f} samples/s  "
                 f"{record['seconds']:.1f}s")
    return line


def context_lines(run: dict) -> list[str]:
    """What a "run" record says before the first step, in lines of at most 80 columns (but
    for a path longer than that: cutting it would lose what it is there to tell)."""
    sizes = ", ".join(f"{split} {size:,}" for split, size in run["sizes"].items())
    resumed = run["resumed_at_step"]
    lines = [f"run {run['run_dir']}", f"  config {run['config']}",
             f"model {run['model']}, {run['parameters']:,} parameters; data {run['dataset']}",
             f"  {sizes}",
             f"{run['epochs']} epochs x {run['steps_per_epoch']:,} steps; kernels "
             f"{run['cpu_path']}, {run['threads']} thread{'s' * (run['threads'] != 1)}"
             + (f"; resuming after step {resumed:,}" if resumed is not None else "")]
    return lines


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


#: How each metric a task reports is shown; others appear as ``name 0.1234``.
_FORMATS = {"loss": "loss {:.4f}", "accuracy": "acc {:6.2f}%", "perplexity": "ppl {:.2f}",
            "loss_d": "loss_D {:.4f}", "loss_g": "loss_G {:.4f}", "d_accuracy": "acc_D {:6.2f}%",
            "frechet_distance": "FD {:.4g}"}
_PERCENT = {"accuracy", "d_accuracy"}
_NOT_METRICS = {"kind", "epoch", "step", "step_in_epoch", "steps_per_epoch", "samples", "split",
                "seconds", "samples_per_s", "lr", "checkpoint", "task", "confusion_matrix",
                "classes", "score_images"}


def metrics_text(record: dict) -> str:
    """``loss 0.4123  acc  85.12%`` from whichever metrics ``record`` holds."""
    parts = []
    for key, value in record.items():
        if key in _NOT_METRICS or key.startswith("lr_") or not isinstance(value, (int, float)):
            continue
        shown = 100 * value if key in _PERCENT else value
        parts.append(_FORMATS.get(key, key + " {:.4g}").format(shown))
    return "  ".join(parts)


class PlainProgress:
    """One line per epoch and evaluation, and every ``log_every`` steps (0: never)."""

    def __init__(self, stream: TextIO, log_every: int = 0):
        self.stream, self.log_every = stream, log_every
        self.epochs: int | None = None
        self.fetching: str | None = None

    def __call__(self, record: dict) -> None:
        kind = record["kind"]
        if kind == "start":
            self.epochs = record["epochs"]
        elif kind == "run":
            for line in context_lines(record):
                self._print(line)
        elif kind == "fetch":
            if record["description"] != self.fetching:
                self.fetching = record["description"]
                self._print(self.fetching)
        elif kind in ("train", "eval", "test") or (kind == "step" and self._due(record)):
            self._print(describe(record, self.epochs))

    def _due(self, step: dict) -> bool:
        return bool(self.log_every) and step["step_in_epoch"] % self.log_every == 0

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class BarProgress:
    """A Rich progress bar over each epoch's steps; finished epochs stay as printed lines."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(),
            TextColumn("{task.fields[run_eta]}"),
            console=Console(file=stream), transient=True)
        self.task = None
        self.epochs: int | None = None
        self.total_steps: int | None = None
        self.run_from: tuple[float, int] | None = None  # (time, global step) at the first step
        self._run_eta_text = ""
        self.epoch: int | None = None  # the epoch the bar shows
        self.rate_from: tuple[float, int] | None = None  # (time, samples) at the epoch's start

    def __call__(self, record: dict) -> None:
        kind = record["kind"]
        if kind == "start":
            self.epochs = record["epochs"]
        elif kind == "run":
            self.total_steps = record["epochs"] * record["steps_per_epoch"]
            for line in context_lines(record):
                self.progress.console.print(line, highlight=False)
        elif kind == "fetch":
            total = record["total"]
            self.progress.update(self.task or self._add(record["description"], total),
                                 description=record["description"], completed=record["done"],
                                 total=total)
        elif kind == "step":
            if self.task is None or record["epoch"] != self.epoch:
                self._new_epoch(record["epoch"], record["steps_per_epoch"],
                                record["step_in_epoch"] - 1)
            if self.rate_from is None:
                self.rate_from = (time.perf_counter(), record["samples"])
            since, samples = self.rate_from
            elapsed = time.perf_counter() - since
            rate = f"  {(record['samples'] - samples) / elapsed:,.0f} samples/s" if elapsed else ""
            self.progress.update(self.task, completed=record["step_in_epoch"],
                                 metrics=metrics_text(record) + rate,
                                 run_eta=self._run_eta(record["step"]))
        elif kind in ("train", "eval", "test"):
            self.progress.console.print(describe(record, self.epochs))

    def _run_eta(self, step: int) -> str:
        """``run 1:23`` left at this process's pace so far (blank until it can tell)."""
        now = time.perf_counter()
        if self.run_from is None:
            self.run_from = (now, step)
        since, first = self.run_from
        if not self.total_steps or step <= first:
            return ""
        left = (self.total_steps - step) * (now - since) / (step - first)
        self._run_eta_text = f"run {_clock(left)}"
        return self._run_eta_text

    def _add(self, description: str, total) -> int:
        self.task = self.progress.add_task(description, total=total, metrics="", run_eta="")
        return self.task

    def _new_epoch(self, epoch: int, steps: int, done: int) -> None:
        self.epoch = epoch
        description = f"epoch {epoch}/{self.epochs}"
        if self.task is None:
            self._add(description, steps)
        self.progress.reset(self.task, total=steps, completed=done, description=description,
                            metrics="", run_eta=self._run_eta_text)
        self.rate_from = None

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


@contextlib.contextmanager
def display(mode: str = "auto", log_every: int = 0, stream: TextIO | None = None
            ) -> Iterator:
    """A ``report`` callback for ``mode``: "bar" (Rich), "plain", "none", or "auto" (the bar
    when ``stream``, default stderr, is a terminal, plain lines otherwise)."""
    if mode not in MODES:
        raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
    stream = stream or sys.stderr
    if mode == "auto":
        mode = "bar" if stream.isatty() else "plain"
    if mode == "none":
        yield lambda record: None
    elif mode == "plain":
        yield PlainProgress(stream, log_every)
    else:
        bar = BarProgress(stream)
        bar.start()
        try:
            yield bar
        finally:
            bar.stop()
