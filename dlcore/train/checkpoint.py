"""A run's checkpoint: dlcore's file format (:mod:`dlcore.serialization`) holding the whole
training state, and the upgrades that read checkpoints of older trainer layouts."""
from __future__ import annotations

import os

from dlcore import serialization
from dlcore.serialization import CheckpointError, atomic_write

__all__ = ["CheckpointError", "atomic_write", "load", "progress", "save"]


def save(path: str | os.PathLike, tree: dict) -> None:
    """Write a run's state ``tree`` to ``path`` atomically."""
    serialization.save(tree, path)


def load(path: str | os.PathLike) -> dict:
    """A run's state tree, upgraded from an older layout when needed."""
    return serialization.load(path, _UPGRADES)


def progress(path: str | os.PathLike) -> dict:
    """How far the run saved at ``path`` got, read from the checkpoint's JSON part alone
    (no arrays, so cheap enough to list many runs): ``epoch``, ``step``, ``wall_seconds``,
    ``best`` (the best eval record) and ``name``, each None where the layout lacks it."""
    state = serialization.load_meta(path)["state"]
    trainer, updater = state.get("trainer") or {}, state.get("updater") or {}
    callbacks = state.get("callbacks")
    evaluation = (callbacks.get("evaluation") if isinstance(callbacks, dict)
                  else callbacks[0] if callbacks else None)  # version 1: a list, evaluation first
    return {"epoch": trainer.get("epoch"),
            "step": updater.get("iteration", trainer.get("global_step")),  # version 1: trainer's
            "wall_seconds": state.get("wall_seconds"),
            "best": (evaluation or {}).get("best"),
            "name": state.get("name")}


def _upgrade_v1(tree: dict) -> dict:
    """Version 1 (one optimizer and scheduler beside the trainer; one callback list run at
    every epoch's end) to version 2 (an updater's optimizers per role; named callbacks)."""
    trainer, meter = tree["trainer"], tree["meter"]
    step = trainer["global_step"]
    last = trainer["last_finite_loss"]
    evaluation = tree["callbacks"][0]
    names = ("log", "evaluation", "schedule", "snapshot")
    config = {**tree["config"], "data": {
        **{k: v for k, v in tree["config"]["data"].items() if k != "eval_split"},
        "test_split": tree["config"]["data"].get("eval_split", "test"), "val_fraction": 0.0}}
    return {
        **{key: tree[key] for key in ("model", "loader", "rng", "name", "wall_seconds")},
        "config": config,  # version 1 evaluated on its eval_split, with no validation part
        "updater": {"optimizers": {"model": tree["optimizer"]},
                    "schedulers": {} if tree["scheduler"] is None
                    else {"model": tree["scheduler"]},
                    "iteration": step, "last_finite": {} if last is None else {"loss": last}},
        "meter": {"sums": {"loss": meter["loss_sum"], "accuracy": float(meter["correct"])},
                  "counts": {"loss": meter["items"], "accuracy": meter["items"]}, "arrays": {}},
        "callbacks": {"log": {"samples": trainer["samples"],
                              "seconds": trainer["train_seconds"]},
                      "evaluation": {"best": evaluation["best"], "stale": evaluation["stale"]},
                      "schedule": {}, "snapshot": {}},
        "fired": dict.fromkeys(names, step),  # version 1 ran every callback at each save
        "trainer": {key: trainer[key] for key in ("epoch", "samples", "train_seconds",
                                                  "stop_reason", "history")},
        "metadata": {},
    }


_UPGRADES = {1: _upgrade_v1}


_UPGRADES = {1: _upgrade_v1}
