"""The model zoo's registry: a name → a builder of a :class:`~dlcore.nn.Module` and its task.

The task tells the trainer which loss and metrics fit the model's output:

- ``classification``: logits (N, C) against int64 labels (N,): cross-entropy, accuracy;
- ``regression``: predictions (N, K) against float targets (N, K): mean squared error;
- ``language_model``: logits (N, T, V) against int64 tokens (N, T): cross-entropy, perplexity.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from dlcore import nn

TASKS = ("classification", "regression", "language_model")

#: The activations a model builder accepts by name.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid,
                                           "tanh": nn.Tanh}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    task: str

    @property
    def description(self) -> str:
        """The first line of the builder's docstring."""
        return (inspect.getdoc(self.builder) or "").split("\n")[0]

    def options(self) -> dict[str, object]:
        """The builder's hyper-parameters and their defaults."""
        return {p.name: p.default for p in inspect.signature(self.builder).parameters.values()}


MODELS: dict[str, ModelEntry] = {}


def register(name: str, task: str) -> Callable:
    """Decorator: add ``builder(**hparams) -> Module`` to the zoo as ``name``."""
    if task not in TASKS:
        raise ValueError(f"register: task must be one of {TASKS}, got {task!r}")

    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"register: a model named {name!r} already exists")
        MODELS[name] = ModelEntry(name, builder, task)
        return builder
    return add


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; ValueError listing the known names otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def get_model(name: str, **hparams) -> nn.Module:
    """Build model ``name`` with ``hparams`` (see ``dl models`` for each model's options)."""
    return model_entry(name).builder(**hparams)


def activation(name: str) -> nn.Module:
    """A new activation module by name (``"relu"``, ``"sigmoid"``, ``"tanh"``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()
