"""Writing a trained model for other tools: safetensors (PyTorch's names and layouts) or ONNX
(a graph that runtimes such as onnxruntime execute)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dlcore import checks

from . import checkpoint
from .onnx_export import to_onnx
from .predict import LoadedRun

FORMATS = ("safetensors", "onnx")


def export(loaded: LoadedRun, path: str | os.PathLike, format: str = "safetensors") -> Path:
    """Write ``loaded``'s model to ``path`` (atomically). safetensors keeps each tensor's
    state-dict name, which is PyTorch's for the same model, plus the run's config and data
    metadata as JSON strings in the header; ONNX writes the eval-mode graph of a layered
    model for inputs shaped like the run's data (:mod:`.onnx_export`). They need the
    ``safetensors`` / ``onnx`` packages (``pip install 'dlcore[export]'``)."""
    checks.one_of("export", "format", format, FORMATS)
    path = Path(path)
    if format == "onnx":
        shape = loaded.metadata.get("input_shape")
        if not shape:
            raise ValueError(f"ONNX export needs the input shape, which the run's data "
                             f"({loaded.experiment.data['name']}) does not record")
        blob = to_onnx(loaded.model, tuple(shape), name=loaded.experiment.model["name"],
                       properties=_header(loaded))
        checkpoint.atomic_write(path, lambda file: file.write(blob))
        return path
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ValueError("safetensors export needs the safetensors package: pip install "
                         "'dlcore[export]' (or pip install safetensors)") from None
    tensors = {name: np.ascontiguousarray(value)
               for name, value in loaded.model.state_dict().items()}
    blob = save(tensors, metadata=_header(loaded))
    checkpoint.atomic_write(path, lambda file: file.write(blob))
    return path


def _header(loaded: LoadedRun) -> dict[str, str]:
    """What an exported file says of its run: the model, the config and the data metadata
    (whose ``normalize`` entry tells how inputs were scaled), as JSON strings."""
    return {"format": "dlcore", "model": loaded.experiment.model["name"],
            "config": json.dumps(loaded.experiment.sections()),
            "metadata": json.dumps(loaded.metadata)}
