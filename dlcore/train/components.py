"""What a config's ``name`` keys select, and building it: model, data, task, optimizers,
schedules and the updater.

:func:`signature` tells :mod:`~dlcore.train.config` which options a component takes (with
their real type hints); the ``build_*`` functions construct it, turning a constructor's
``ValueError``/``TypeError`` (a bad value: ``lr = -1``) into a :class:`ConfigError` that names
the section. This module knows nothing of TOML: it works on an Experiment's plain dicts.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from dlcore import data, models, optim
from dlcore.nn import Module, Parameter
from dlcore.optim import lr_scheduler

from .errors import ConfigError, choose
from .tasks import TASKS, Task
from .updaters import UPDATERS, Updater

if TYPE_CHECKING:
    from .config import Experiment

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
#: Constructor arguments the trainer supplies, never the config (a model builder's ``nn``
#: namespace included).
_NOT_OPTIONS = {"self", "params", "optimizer", "last_epoch", "split", "metadata", "model",
                "task", "optimizers", "schedulers", models.NAMESPACE}


def _builder(section: str, name: str) -> Callable | None:
    what = f"{section}.name"
    if section == "model":
        return choose(what, name, models.MODELS).builder
    if section == "data":
        return choose(what, name, data.DATASETS).builder
    if section == "task":
        return choose(what, name, TASKS)
    if section == "optim":
        return choose(what, name, OPTIMIZERS)
    return choose(what, name, {NO_SCHEDULE: None, **SCHEDULES})


def _parameters(function: Callable) -> dict[str, inspect.Parameter]:
    """Keyword options of ``function`` (a class: of its constructor), annotations resolved."""
    target = function.__init__ if isinstance(function, type) else function
    return {p.name: p.replace(annotation=_hint(target, p.annotation))
            for p in inspect.signature(function).parameters.values()
            if p.name not in _NOT_OPTIONS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _hint(function: Callable, annotation):
    """An option's annotation as a type (``from __future__ import annotations`` leaves a
    string), evaluated in the function's module; left as it is if that fails."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, vars(inspect.getmodule(function)))  # noqa: S307 (our code)
    except Exception:  # a name imported only for type checkers: fall back to the default
        return annotation


def signature(section: str, name: str) -> dict[str, inspect.Parameter] | None:
    """The options the component ``name`` of ``section`` accepts (None: it takes none)."""
    builder = _builder(section, name)
    return None if builder is None else _parameters(builder)


def updater_signature(updater: type[Updater]) -> dict[str, inspect.Parameter]:
    """The updater's options, written under ``[train]`` (``clip_grad_norm``, ``n_critic``)."""
    return _parameters(updater)


_PLAIN = (bool, int, float, str)


def option_type(parameter: inspect.Parameter) -> tuple[type | None, bool]:
    """(the type a config value must have, whether it is a path) from the option's type hint:
    ``int | None`` → int, ``tuple[int, ...]`` → list, ``os.PathLike`` → a path string,
    ``bool | str`` → None (anything goes: the builder checks); otherwise the default's type."""
    hint = parameter.annotation
    alternatives = (typing.get_args(hint) if isinstance(hint, types.UnionType)
                    or typing.get_origin(hint) is typing.Union else (hint,))
    for alternative in alternatives:
        if alternative is os.PathLike or typing.get_origin(alternative) is os.PathLike:
            return str, True
    if len([a for a in alternatives if a in _PLAIN]) > 1:
        return None, False  # ``bool | str``: the builder checks which values it takes
    for alternative in alternatives:
        origin = typing.get_origin(alternative) or alternative
        if alternative in _PLAIN:
            return alternative, False
        if origin in (tuple, list) or origin is typing.Sequence or (
                isinstance(origin, type) and origin.__name__ == "Sequence"):
            return list, False
    default = parameter.default
    if default is inspect.Parameter.empty or default is None:
        return None, False
    return (list if isinstance(default, (tuple, list)) else type(default)), False


def model_task(model_name: str) -> str:
    """The task a registered model is trained for (``[task] name`` defaults to it)."""
    return choose("model.name", model_name, models.MODELS).task


def task_class(name: str) -> type[Task]:
    return choose("task.name", name, TASKS)


def _build(where: str, name: str, build: Callable):
    try:
        return build()
    except (ValueError, TypeError) as error:
        raise ConfigError(f"[{where}] {name}: {error}") from error


def resolve_data(experiment: Experiment, metadata: Mapping) -> Experiment:
    """``experiment`` with the model options the data determines filled from ``metadata``
    (a dataset's :attr:`~dlcore.data.Dataset.metadata`); an option the config sets to a value
    the data contradicts is a ConfigError. Options the data does not determine get the
    builder's default."""
    parameters = signature("model", experiment.model["name"]) or {}
    derived = models.data_options(metadata)
    model = dict(experiment.model)
    for key in models.DATA_OPTIONS:
        if key not in parameters:
            continue
        if key in derived and key in model and model[key] != derived[key]:
            raise ConfigError(
                f"model.{key} = {model[key]!r} but the data ({experiment.data['name']}) has "
                f"{key} = {derived[key]!r}; remove model.{key} to take it from the data")
        if key not in model:
            default = parameters[key].default
            model[key] = derived.get(key, None if default is inspect.Parameter.empty
                                     else default)
    return dataclasses.replace(experiment, model=model)


def build_model(experiment: Experiment) -> Module:
    name = experiment.model["name"]
    return _build("model", name, lambda: _builder("model", name)(**experiment.options("model")))


def build_task(experiment: Experiment, metadata: Mapping) -> Task:
    cls = task_class(experiment.task["name"])
    return _build("task", experiment.task["name"],
                  lambda: cls(dict(metadata), **experiment.options("task")))


def check(experiment: Experiment) -> None:
    """Build each role's optimizer and schedule on a stand-in parameter, so that their bad
    values (``lr = -1``) are reported before any data is read or any directory made."""
    for role in experiment.roles:
        _build_optimization(experiment, role, [Parameter(np.zeros(1, dtype=np.float32))])


def _build_optimization(experiment: Experiment, role: str, parameters: list):
    """(optimizer, (scheduler, interval) or None) of ``role`` over ``parameters``."""
    suffix = "" if role == "model" else f".{role}"
    table, schedule = experiment.optim[role], experiment.schedule[role]
    optimizer = _build("optim" + suffix, table["name"], lambda: _builder("optim", table["name"])(
        parameters, **experiment.options("optim", role)))
    scheduler_cls = _builder("schedule", schedule["name"])
    if scheduler_cls is None:
        return optimizer, None
    scheduler = _build("schedule" + suffix, schedule["name"], lambda: scheduler_cls(
        optimizer, **experiment.options("schedule", role)))
    return optimizer, (scheduler, schedule["interval"])


def build_updater(experiment: Experiment, model: Module, task: Task) -> Updater:
    """The task's updater, with one optimizer (and schedule) per role, over that role's
    module (``model`` itself, or ``model.generator`` and ``model.discriminator``)."""
    cls: type[Updater] = task.updater
    _build("model", experiment.model["name"], lambda: task.check_model(model))
    modules = _build("model", experiment.model["name"], lambda: cls.role_modules(model))
    optimizers, schedulers = {}, {}
    for role, module in modules.items():
        optimizers[role], schedule = _build_optimization(experiment, role,
                                                         list(module.parameters()))
        if schedule is not None:
            schedulers[role] = schedule
    return _build("train", cls.__name__, lambda: cls(model, task, optimizers, schedulers,
                                       **experiment.options("train")))


def build_dataset(experiment: Experiment, split: str) -> data.Dataset:
    """The dataset of the experiment's ``split``; DatasetNotFoundError if its files are absent."""
    name = experiment.data["name"]
    return _build("data", name, lambda: data.get_dataset(name, split,
                                                         **experiment.options("data")))


def build_loader(experiment: Experiment, dataset: data.Dataset, training: bool = False
                 ) -> data.DataLoader:
    """The loader of ``dataset`` at the config's batch size: for training shuffled (per
    ``data.shuffle``) from the run's seed, otherwise in order."""
    order = ({"shuffle": experiment.data["shuffle"], "seed": experiment.train["seed"]}
             if training else {})
    return _build("data", experiment.data["name"], lambda: data.DataLoader(
        dataset, experiment.data["batch_size"], **order))


def split_validation(experiment: Experiment, train: data.Dataset
                     ) -> tuple[data.Dataset, data.Dataset]:
    """(training part, validation part) of the training split, by the config's fraction and
    seed: every run and ``dl eval --data validation`` hold out the same samples."""
    return _build("data", experiment.data["name"], lambda: data.split_validation(
        train, experiment.data["val_fraction"], experiment.train["seed"]))


def model_of(experiment: Experiment) -> Module:
    """The model a run of ``experiment`` trains: its options filled from the dataset (the test
    split, the smallest one read) as the run fills them. The dataset must be present."""
    metadata = _metadata(experiment.data["name"], experiment.data["test_split"],
                         json.dumps(experiment.options("data"), sort_keys=True))
    return build_model(resolve_data(experiment, metadata))


@functools.lru_cache(maxsize=16)
def _metadata(name: str, split: str, options: str) -> dict:
    """A dataset's metadata, read once per process (examples share datasets)."""
    return data.get_dataset(name, split, **json.loads(options)).metadata


def missing_data(experiment: Experiment) -> bool:
    """True when the dataset's files must be fetched before it can be built."""
    return bool(data.dataset_entry(experiment.data["name"]).missing())


__all__ = ["NO_SCHEDULE", "OPTIMIZERS", "SCHEDULES", "TASKS", "UPDATERS", "build_dataset",
           "build_loader", "check",
           "build_model", "build_task", "build_updater", "missing_data", "model_of", "model_task",
           "split_validation",
           "option_type", "resolve_data", "signature", "task_class", "updater_signature"]
