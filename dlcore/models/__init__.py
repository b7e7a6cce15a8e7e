"""The model zoo: ``get_model(name, **hparams)``; ``MODELS`` lists every registered model."""
from . import (  # noqa: F401  (each module registers its models)
    alexnet, autoencoder, densenet, gan, googlenet, gpt, language, lenet, linear, mlp, nin,
    resnet, seq2seq, transformer, vgg,
)
from .gan import GAN
from .registry import (
    ACTIVATIONS, DATA_OPTIONS, MODELS, NAMESPACE, ModelEntry, data_options, get_model, model_entry,
    register,
)

__all__ = ["ACTIVATIONS", "DATA_OPTIONS", "GAN", "MODELS", "NAMESPACE", "ModelEntry",
           "data_options", "get_model", "model_entry", "register"]
