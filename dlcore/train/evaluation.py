"""``evaluate_run``: measure a trained model from its run directory or checkpoint (``dl eval``)."""
from __future__ import annotations

import os
from pathlib import Path

from dlcore.data import DataLoader

from . import checkpoint, components
from .config import parse
from .errors import ConfigError
from .run import checkpoint_path, run_dir_of, write_json


def _locate(target: Path) -> tuple[Path, Path]:
    """(checkpoint, run directory) for a run directory (its best checkpoint, else its last)
    or a checkpoint file."""
    if target.is_dir():
        best = checkpoint_path(target, "best")
        return (best if best.is_file() else checkpoint_path(target, "last")), target
    return target, run_dir_of(target)


def evaluate_run(target: str | os.PathLike, split: str | None = None) -> dict:
    """The task's metrics of the checkpointed model on ``split`` ("train", "validation" (the
    run's held-out part) or a test split; default: the config's ``data.test_split``), in detail: a classifier's adds its confusion matrix (rows: true
    class) and class names. Also written to ``eval.json`` in the run directory."""
    path, run_dir = _locate(Path(target))
    try:
        state = checkpoint.load(path)
    except checkpoint.CheckpointError as error:
        last = checkpoint_path(run_dir, "last")
        if path.name == "best.npz" and last.is_file():
            raise checkpoint.CheckpointError(f"{error}; `dl eval {last}` evaluates the last "
                                             f"checkpoint instead") from None
        raise
    experiment = parse(state["config"], name=state["name"])
    metadata = state["metadata"]
    model = components.build_model(experiment)
    model.load_state_dict(state["model"])
    task = components.build_task(experiment, metadata)
    split = split or experiment.data["test_split"]
    if split == "validation":
        if not experiment.data["val_fraction"]:
            raise ConfigError("this run held out no validation part (data.val_fraction = 0)")
        dataset = components.split_validation(
            experiment, components.build_dataset(experiment, "train"))[1]
    else:
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
