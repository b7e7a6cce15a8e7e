"""``evaluate_run``: measure a trained model from its run directory or checkpoint (``dl eval``)."""
from __future__ import annotations

import os
from pathlib import Path

from dlcore.data import DataLoader

from . import checkpoint, components
from .config import parse
from .run import checkpoint_path, run_dir_of, write_json


def _locate(target: Path) -> tuple[Path, Path]:
    """(checkpoint, run directory) for a run directory (its best checkpoint, else its last)
    or a checkpoint file."""
    if target.is_dir():
        best = checkpoint_path(target, "best")
        return (best if best.is_file() else checkpoint_path(target, "last")), target
    return target, run_dir_of(target)


def evaluate_run(target: str | os.PathLike, split: str | None = None) -> dict:
    """The task's metrics of the checkpointed model on ``split`` (default: the config's
    ``data.eval_split``), in detail: a classifier's adds its confusion matrix (rows: true
    class) and class names. Also written to ``eval.json`` in the run directory."""
    path, run_dir = _locate(Path(target))
    state = checkpoint.load(path)
    experiment = parse(state["config"], name=state["name"])
    metadata = state["metadata"]
    model = components.build_model(experiment)
    model.load_state_dict(state["model"])
    task = components.build_task(experiment, metadata)
    split = split or experiment.data["eval_split"]
    dataset = components.build_dataset(experiment, split)
    result = {"checkpoint": str(path), "epoch": state["trainer"]["epoch"],
              "step": state["updater"]["iteration"], "split": split, "task": task.name,
              **task.evaluate(model, DataLoader(dataset, experiment.data["batch_size"]),
                              detailed=True)}
    classes = metadata.get("classes") or getattr(dataset, "classes", None)
    if "confusion_matrix" in result and classes is not None:
        result["classes"] = list(classes)
    write_json(run_dir / "eval.json", result)
    return result
