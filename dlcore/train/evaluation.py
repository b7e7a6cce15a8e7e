"""``evaluate_run``: measure a trained model from its run directory or checkpoint (``dl eval``)."""
from __future__ import annotations

import os
from pathlib import Path

from dlcore.data import DataLoader

from . import checkpoint, components
from .config import parse
from .run import checkpoint_path, write_json
from .trainer import evaluate


def _locate(target: Path) -> tuple[Path, Path]:
    """(checkpoint, run directory) for a run directory (its best checkpoint, else its last)
    or a checkpoint file."""
    if target.is_dir():
        best = checkpoint_path(target, "best")
        return (best if best.is_file() else checkpoint_path(target, "last")), target
    folder = target.parent
    return target, folder.parent if folder.name == "checkpoints" else folder


def evaluate_run(target: str | os.PathLike, split: str | None = None) -> dict:
    """Loss and accuracy (classification; with a confusion matrix, rows = true class), or
    perplexity (language models), of the checkpointed model on ``split`` (default: the
    config's ``data.eval_split``). Also written to ``eval.json`` in the run directory."""
    path, run_dir = _locate(Path(target))
    state = checkpoint.load(path)
    experiment = parse(state["config"], name=state["name"])
    model = components.build_model(experiment)
    model.load_state_dict(state["model"])
    split = split or experiment.data["eval_split"]
    dataset = components.build_dataset(experiment, split)
    task = components.task(experiment)
    result = {"checkpoint": str(path), "epoch": state["trainer"]["epoch"], "split": split,
              "task": task,
              **evaluate(model, DataLoader(dataset, experiment.data["batch_size"]), task,
                         confusion=True)}
    classes = getattr(dataset, "classes", None)
    if "confusion_matrix" in result and classes is not None:
        result["classes"] = list(classes)
    write_json(run_dir / "eval.json", result)
    return result
