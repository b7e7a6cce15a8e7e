"""The model zoo's registry: a name → a builder of a :class:`~dlcore.nn.Module` and its task.

The task names what the model is trained for (``classification``, ``regression``,
``language_model``, ``seq2seq``, ``adversarial``, ...); :mod:`dlcore.train.tasks` says, per
task, how a batch feeds the model and which loss and metrics fit its output.

Builder options named in :data:`DATA_OPTIONS` describe the data rather than the model
(``num_classes``, ``vocab_size``); the trainer fills them from the dataset's metadata
(:func:`data_options`), so a config need not repeat them.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
import functools
from dataclasses import dataclass

from dlcore import checks, nn

#: Builder options the data determines: each with how it follows from a dataset's metadata.
DATA_OPTIONS: dict[str, Callable[[Mapping], object]] = {
    "num_classes": lambda m: m["num_classes"],
    "in_features": lambda m: math.prod(m["input_shape"]),
    "in_channels": lambda m: m["input_shape"][0] if len(m["input_shape"]) == 3 else None,
    "image_size": lambda m: (m["input_shape"][1] if len(m["input_shape"]) == 3
                             and m["input_shape"][1] == m["input_shape"][2] else None),
    "out_features": lambda m: math.prod(m["target_shape"]),
    "vocab_size": lambda m: m["vocab_size"],
    "src_vocab_size": lambda m: m["src_vocab_size"],
    "tgt_vocab_size": lambda m: m["tgt_vocab_size"],
    "pad_id": lambda m: m["pad_id"],
    "bos_id": lambda m: m["bos_id"],
    "eos_id": lambda m: m["eos_id"],
}


def data_options(metadata: Mapping) -> dict[str, object]:
    """The :data:`DATA_OPTIONS` values that ``metadata`` determines (keys it lacks are left
    out): ``{"input_shape": [1, 28, 28], "num_classes": 10}`` gives num_classes 10,
    in_features 784, in_channels 1 and image_size 28."""
    options = {}
    for name, derive in DATA_OPTIONS.items():
        try:
            value = derive(metadata)
        except (KeyError, TypeError, IndexError):
            continue
        if value is not None:
            options[name] = int(value)
    return options


#: The activations a model builder accepts by name: the class each is in an ``nn`` namespace.
ACTIVATIONS: dict[str, str] = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}

#: The builder argument that is the ``nn`` namespace to build with (``dlcore.nn`` by default,
#: ``torch.nn`` for a PyTorch twin), not a hyper-parameter.
NAMESPACE = "nn"


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, its task and, for a named variant (ResNet-18 of
    ``resnet``), what the variant is."""
    name: str
    builder: Callable[..., nn.Module]
    task: str
    summary: str = ""

    @property
    def description(self) -> str:
        """The variant's summary, else the first line of the builder's docstring."""
        return self.summary or (inspect.getdoc(self.builder) or "").split("\n")[0]

    def options(self) -> dict[str, object]:
        """The hyper-parameters and their defaults (the ``nn`` namespace is none)."""
        return {p.name: p.default for p in inspect.signature(self.builder).parameters.values()
                if p.name != NAMESPACE}

    def build(self, nn, **hparams) -> nn.Module:
        if NAMESPACE in inspect.signature(self.builder).parameters:
            hparams[NAMESPACE] = nn
        elif nn is not _DLCORE_NN:
            raise ValueError(f"model {self.name!r} builds with dlcore.nn only (its builder "
                             f"takes no `nn` namespace)")
        return self.builder(**hparams)


MODELS: dict[str, ModelEntry] = {}


def register(name: str, task: str) -> Callable:
    """Decorator: add ``builder(**hparams) -> Module`` to the zoo as ``name``."""
    if not isinstance(task, str) or not task:
        raise ValueError(f"register: task must be a task name, got {task!r}")

    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"register: a model named {name!r} already exists")
        MODELS[name] = ModelEntry(name, builder, task)
        return builder
    return add


def variant(name: str, of: str, summary: str, **defaults) -> ModelEntry:
    """Register ``name`` as model ``of`` with other defaults: a named configuration (VGG-11,
    ResNet-18, BN-LeNet), not a copied builder. A config may still override any option."""
    base = model_entry(of)
    unknown = sorted(set(defaults) - set(base.options()))
    if unknown:
        raise ValueError(f"variant {name!r}: {of} has no option {', '.join(unknown)}")
    if name in MODELS:
        raise ValueError(f"register: a model named {name!r} already exists")
    # A partial's signature shows the new defaults, so the trainer, `dl models` and the data
    # options see the variant as a builder of its own; its module resolves the annotations.
    builder = functools.partial(base.builder, **defaults)
    builder.__module__ = base.builder.__module__
    MODELS[name] = ModelEntry(name, builder, base.task, summary)
    return MODELS[name]


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; ValueError listing the known names otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name]


_DLCORE_NN = nn  # for functions whose `nn` argument hides the module


def get_model(name: str, nn=nn, **hparams):
    """Build model ``name`` with ``hparams`` (see ``dl models`` for each model's options).
    ``nn=torch.nn`` builds its PyTorch twin, same layers, names and shapes, from a builder
    that takes the namespace."""
    return model_entry(name).build(nn, **hparams)


def activation(name: str, nn=nn):
    """A new activation module by name (``"relu"``, ``"sigmoid"``, ``"tanh"``) from the
    ``nn`` namespace."""
    return getattr(nn, ACTIVATIONS[checks.one_of(None, "activation", name, ACTIVATIONS)])()
