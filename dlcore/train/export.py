"""Writing a trained model for other tools: safetensors (PyTorch's names and layouts)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dlcore import checks

from . import checkpoint
from .predict import LoadedRun

FORMATS = ("safetensors",)


def export(loaded: LoadedRun, path: str | os.PathLike, format: str = "safetensors") -> Path:
    """Write ``loaded``'s weights to ``path`` (atomically). safetensors keeps each tensor's
    state-dict name, which is PyTorch's for the same model, plus the run's config and data
    metadata as JSON strings in the header; it needs the ``safetensors`` package
    (``pip install 'dlcore[export]'``)."""
    checks.one_of("export", "format", format, FORMATS)
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ValueError("safetensors export needs the safetensors package: pip install "
                         "'dlcore[export]' (or pip install safetensors)") from None
    tensors = {name: np.ascontiguousarray(value)
               for name, value in loaded.model.state_dict().items()}
    header = {"format": "dlcore", "model": loaded.experiment.model["name"],
              "config": json.dumps(loaded.experiment.sections()),
              "metadata": json.dumps(loaded.metadata)}
    blob = save(tensors, metadata=header)
    path = Path(path)
    checkpoint.atomic_write(path, lambda file: file.write(blob))
    return path
