"""What a config's ``name`` keys select, and building it: model, data, optimizer, schedule.

:func:`signature` tells :mod:`~dlcore.train.config` which options a component takes; the
``build_*`` functions construct it, turning a constructor's ``ValueError``/``TypeError`` (a
bad value: ``lr = -1``) into a :class:`ConfigError` that names the section.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from dlcore import data, models, optim
from dlcore.nn import Module
from dlcore.optim import lr_scheduler

from .config import ConfigError, Experiment, did_you_mean

OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
    "adagrad": optim.Adagrad, "adadelta": optim.Adadelta,
}
#: ``schedule.name`` → scheduler class; "none" keeps the optimizer's lr.
SCHEDULES: dict[str, type] = {
    "step": lr_scheduler.StepLR, "multistep": lr_scheduler.MultiStepLR,
    "exponential": lr_scheduler.ExponentialLR, "cosine": lr_scheduler.CosineAnnealingLR,
    "linear": lr_scheduler.LinearLR, "onecycle": lr_scheduler.OneCycleLR,
    "noam": lr_scheduler.NoamLR, "plateau": lr_scheduler.ReduceLROnPlateau,
}
NO_SCHEDULE = "none"
_NOT_OPTIONS = {"params", "optimizer", "last_epoch", "split"}  # supplied by the trainer


def _choose(section: str, name: str, table: dict):
    if name not in table:
        raise ConfigError(f"{section}.name = {name!r} is unknown{did_you_mean(name, table)}; "
                          f"choose one of: {', '.join(table)}")
    return table[name]


def _builder(section: str, name: str) -> Callable:
    if section == "model":
        return _choose(section, name, models.MODELS).builder
    if section == "data":
        return _choose(section, name, data.DATASETS).builder
    if section == "optim":
        return _choose(section, name, OPTIMIZERS)
    return _choose(section, name, {NO_SCHEDULE: None, **SCHEDULES})


def signature(section: str, name: str) -> dict[str, inspect.Parameter] | None:
    """The options the component ``name`` of ``section`` accepts (None: it takes none)."""
    builder = _builder(section, name)
    if builder is None:
        return None
    return {p.name: p for p in inspect.signature(builder).parameters.values()
            if p.name not in _NOT_OPTIONS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _build(section: str, experiment: Experiment, build: Callable):
    name = getattr(experiment, section)["name"]
    try:
        return build(_builder(section, name), experiment.options(section))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"[{section}] {name}: {error}") from error


def task(experiment: Experiment) -> str:
    """What the model predicts: one of :data:`dlcore.models.TASKS`."""
    return models.model_entry(experiment.model["name"]).task


def build_model(experiment: Experiment) -> Module:
    return _build("model", experiment, lambda builder, options: builder(**options))


def build_optimizer(experiment: Experiment, model: Module) -> optim.Optimizer:
    return _build("optim", experiment,
                  lambda cls, options: cls(list(model.parameters()), **options))


def build_scheduler(experiment: Experiment, optimizer: optim.Optimizer):
    """The lr scheduler, or None for ``schedule.name = "none"``."""
    return _build("schedule", experiment,
                  lambda cls, options: None if cls is None else cls(optimizer, **options))


def build_dataset(experiment: Experiment, split: str) -> data.Dataset:
    """The dataset of the experiment's ``split``; DatasetNotFoundError if its files are absent."""
    return _build("data", experiment,
                  lambda builder, options: data.get_dataset(experiment.data["name"], split,
                                                            **options))


def missing_data(experiment: Experiment) -> bool:
    """True when the dataset's files must be fetched before it can be built."""
    return bool(data.dataset_entry(experiment.data["name"]).missing())
