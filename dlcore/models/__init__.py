"""The model zoo: ``get_model(name, **hparams)``; ``MODELS`` lists every registered model."""
from . import language, lenet, linear, mlp  # noqa: F401  (each module registers its models)
from .registry import ACTIVATIONS, MODELS, TASKS, ModelEntry, get_model, model_entry, register

__all__ = ["ACTIVATIONS", "MODELS", "TASKS", "ModelEntry", "get_model", "model_entry", "register"]
