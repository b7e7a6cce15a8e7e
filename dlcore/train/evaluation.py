"""``evaluate_run``: measure a trained model from its run directory or checkpoint (``dl eval``)."""
from __future__ import annotations

import os

from . import components, quality
from .errors import ConfigError
from .predict import load_run
from .run import run_dir_of, write_json


def evaluate_run(target: str | os.PathLike, split: str | None = None,
                 classifier: str | os.PathLike | None = None, score_images: int = 5000) -> dict:
    """The task's metrics of the checkpointed model (a run's best, else its last) on ``split``
    ("train", "validation" (the run's held-out part) or a test split; default: the config's
    ``data.test_split``), in detail: a classifier's adds its confusion matrix (rows: true
    class) and class names. ``classifier`` (a classifier's run) adds, for a model that makes
    images, the classifier score of ``score_images`` of them and of as many real test images
    (:mod:`.quality`). Also written to ``eval.json`` in the run directory."""
    loaded = load_run(target)
    scores = ({} if classifier is None
              else quality.classifier_scores(loaded, load_run(classifier), score_images))
    experiment, task = loaded.experiment, loaded.task
    split = split or experiment.data["test_split"]
    if split == "validation":
        if not experiment.data["val_fraction"]:
            raise ConfigError("this run held out no validation part (data.val_fraction = 0)")
        dataset = components.split_validation(
            experiment, components.build_dataset(experiment, "train"))[1]
    else:
        dataset = components.build_dataset(experiment, split)
    result = {"checkpoint": str(loaded.checkpoint), "epoch": loaded.epoch, "step": loaded.step,
              "split": split, "task": task.name,
              **task.evaluate(loaded.model, components.build_loader(experiment, dataset),
                              detailed=True), **scores}
    classes = loaded.metadata.get("classes") or getattr(dataset, "classes", None)
    if "confusion_matrix" in result and classes is not None:
        result["classes"] = list(classes)
    write_json(run_dir_of(loaded.checkpoint) / "eval.json", result)
    return result
