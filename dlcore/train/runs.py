"""Reading run directories back: which runs a folder holds and how far each got, how their
configs differ, and a metric's curves; what ``dl runs`` and ``dl plot`` show.

Any folder is a container of runs (``runs/``, a sweep's folder with its ``trial-NNN/``
runs): a run directory is one with ``config.toml`` and ``metrics.jsonl`` or
``checkpoints/`` (see :mod:`dlcore.train.run`). Only files are read, never a model built,
and each run costs a few small reads (a checkpoint's JSON part, not its arrays), so listing
hundreds of runs stays quick; a run being written meanwhile is read as far as it got.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import checkpoint
from .config import _flatten
from .run import checkpoint_path, lock_held

#: A file that marks its run directory failed (whatever stopped the run may write the error
#: there); newer than the run's summary.json, it wins over it.
FAILED = "failed.json"
#: Record keys that place a record in the run (or time it) rather than measure the model.
_NOT_METRICS = frozenset({"epoch", "step", "step_in_epoch", "steps_per_epoch", "samples",
                          "seconds", "samples_per_s"})
_SERIES = ("train", "eval")


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """One run directory as ``dl runs`` lists it; None where the run does not tell (yet).

    ``status``: "completed" or "stopped early" (its summary.json says so), "running" (another
    process holds its lock), "interrupted" (a last.npz to resume from, no summary), "failed"
    (``failed.json``, or neither checkpoint nor summary). ``best`` is the best eval record
    (by ``monitor``), ``test`` the final test record (completed runs only).
    """

    path: Path
    name: str
    model: str | None
    dataset: str | None
    task: str | None
    status: str
    monitor: str | None
    best: dict | None
    test: dict | None
    epochs: int | None
    steps: int | None
    wall_seconds: float | None

    @property
    def best_value(self) -> float | None:
        return None if self.best is None or self.monitor is None else self.best.get(self.monitor)

    def to_dict(self) -> dict:
        """JSON-able: ``path`` as a string, ``best_value`` beside ``best``."""
        return {**dataclasses.asdict(self), "path": str(self.path),
                "best_value": self.best_value}


def is_run(path: str | os.PathLike) -> bool:
    """True when ``path`` is a run directory (not merely a folder of runs)."""
    path = Path(path)
    return (path / "config.toml").is_file() and (
        (path / "metrics.jsonl").is_file() or (path / "checkpoints").is_dir())


def find_runs(root: str | os.PathLike) -> list[RunInfo]:
    """Every run directory at or below ``root``, sorted by path. A run's own folders
    (checkpoints, samples) are not searched; hidden folders neither. FileNotFoundError /
    NotADirectoryError for a ``root`` that is not a directory."""
    return [read_run(path) for path in _run_paths(Path(root))]


def _run_paths(root: Path) -> list[Path]:
    if not root.is_dir():
        if root.exists():
            raise NotADirectoryError(f"{root} is not a directory")
        raise FileNotFoundError(f"{root} does not exist")
    found = []
    for folder, subfolders, _ in os.walk(root):
        if is_run(folder):
            found.append(Path(folder))
            subfolders.clear()
        else:
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
    return sorted(found)


def expand(targets: Iterable[str | os.PathLike]) -> list[Path]:
    """The run directories ``targets`` name, in order, each once: a run directory stands for
    itself, any other directory for the runs in it. ValueError naming a target that is
    neither, or a directory without runs."""
    paths, seen = [], set()
    for target in map(Path, targets):
        if is_run(target):
            found = [target]
        elif target.is_dir():
            found = _run_paths(target)
            if not found:
                raise ValueError(f"{target} holds no runs (a run directory has config.toml "
                                 f"and metrics.jsonl or checkpoints/)")
        else:
            raise ValueError(f"{target} is not a run directory nor a folder of runs")
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                paths.append(path)
    return paths


def read_run(path: str | os.PathLike) -> RunInfo:
    """What :func:`find_runs` says about the one run directory ``path``."""
    path = Path(path)
    config = _read_toml(path / "config.toml")
    summary = _read_json(path / "summary.json")
    last = checkpoint_path(path, "last")
    status = _status(path, summary, last.is_file())
    live = status == "running"  # its log and checkpoint are newer than any old summary
    saved = _progress(last) if (summary is None or live) and last.is_file() else None
    logged = _last_record(path) if live or (summary is None and saved is None) else None
    if logged is not None:
        epochs, steps = logged.get("epoch"), logged.get("step")
    else:
        done = summary if saved is None else {"epochs": saved["epoch"], "steps": saved["step"]}
        epochs, steps = (done or {}).get("epochs"), (done or {}).get("steps")
    facts = saved or summary or {}
    return RunInfo(
        path=path,
        name=facts.get("name") or path.name,
        model=_table(config, "model").get("name"),
        dataset=_table(config, "data").get("name"),
        task=_table(config, "task").get("name") or (summary or {}).get("task"),
        status=status,
        monitor=(summary or {}).get("monitor") or _table(config, "train").get("monitor") or None,
        best=facts.get("best"),
        test=(summary or {}).get("test"),
        epochs=epochs,
        steps=steps,
        wall_seconds=facts.get("wall_seconds"),
    )


def _progress(last: Path) -> dict | None:
    try:
        return checkpoint.progress(last)
    except checkpoint.CheckpointError:  # half-copied, foreign: the rest is still worth listing
        return None


def _table(config: dict, section: str) -> dict:
    table = config.get(section)
    return table if isinstance(table, dict) else {}


def _status(path: Path, summary: dict | None, has_last: bool) -> str:
    if lock_held(path):
        return "running"
    failed = path / FAILED
    if failed.is_file() and (summary is None or failed.stat().st_mtime
                             >= (path / "summary.json").stat().st_mtime):
        return "failed"  # a failure newer than any summary (a resumed run that then failed)
    if summary is not None:
        return summary.get("status") or "completed"
    return "interrupted" if has_last else "failed"


def compare_runs(paths: Sequence[str | os.PathLike]) -> dict:
    """How the runs ``paths`` differ: ``config`` maps each flattened key (``optim.lr``,
    ``optim.generator.lr``) whose value is not the same in all of them to the runs' values
    (None where a run lacks the key), sorted by key; ``metrics`` holds each run's
    ``monitor``, ``best`` eval and ``test`` record. ``runs`` and ``names`` (short labels,
    unique) follow the order of ``paths``. ValueError for fewer than two runs or a path
    that is not a run directory."""
    paths = [Path(path) for path in paths]
    if len(paths) < 2:
        raise ValueError(f"comparing needs at least two runs, got {len(paths)}")
    for path in paths:
        if not is_run(path):
            raise ValueError(f"{path} is not a run directory (no config.toml with "
                             f"metrics.jsonl or checkpoints/)")
    configs = [_flatten(_read_toml(path / "config.toml")) for path in paths]
    keys = sorted(set().union(*configs))
    differing = {key: [config.get(key) for config in configs] for key in keys
                 if any(config.get(key) != configs[0].get(key) for config in configs)}
    infos = [read_run(path) for path in paths]
    return {"runs": [str(path) for path in paths], "names": short_names(paths),
            "config": differing,
            "metrics": [{"monitor": info.monitor, "best": info.best, "test": info.test}
                        for info in infos]}


def short_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Labels for ``paths`` that tell them apart: each folder's name when those are unique
    (``trial-003``), else each path relative to the folder they share."""
    paths = [Path(path) for path in paths]
    names = [path.name or str(path) for path in paths]
    if len(set(names)) == len(names):
        return names
    resolved = [path.resolve() for path in paths]
    common = Path(os.path.commonpath(resolved))
    return [str(path.relative_to(common)) if path != common else str(original)
            for path, original in zip(resolved, paths)]


def curves(run: str | os.PathLike, metric: str) -> dict[str, list[tuple[int, float]]]:
    """The ``metric`` series of the run directory ``run`` from its metrics.jsonl:
    ``{"train": [(step, value), ...], "eval": [...]}`` (a series it never logged is empty).
    ValueError naming the metrics the run has when ``metric`` is in neither."""
    run = Path(run)
    records = read_records(run)
    series = {kind: [(record["step"], float(record[metric])) for record in records
                     if record.get("kind") == kind and _is_number(record.get(metric))
                     and "step" in record]
              for kind in _SERIES}
    if not any(series.values()):
        has = sorted({key for record in records if record.get("kind") in _SERIES
                      for key, value in record.items()
                      if _is_number(value) and key not in _NOT_METRICS})
        raise ValueError(f"{run} has no metric {metric!r}; "
                         + (f"its metrics: {', '.join(has)}" if has else
                            "it has logged no metrics yet"))
    return series


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_records(run: Path) -> list[dict]:
    """metrics.jsonl's records; a line being appended at this moment (cut short) is left out."""
    try:
        text = (run / "metrics.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _last_record(run: Path) -> dict | None:
    records = read_records(run)
    return records[-1] if records else None


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
