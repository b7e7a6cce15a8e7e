"""From a trained run to use: load its model, turn files into inputs, predict.

``load_run`` rebuilds the model a run trained (its resolved config and the dataset metadata
in the checkpoint are all it needs: no dataset files); ``read_inputs`` turns ``.npy`` arrays,
image files or text into the model's inputs the way the run's dataset did; ``predict`` asks
the task what the outputs mean (top classes, next tokens, values).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcore import checks
from dlcore.data.text import TOKENIZERS, Vocab
from dlcore.nn import Module
from dlcore.tensor import Tensor, no_grad

from . import checkpoint, components
from .config import Experiment, parse
from .errors import ConfigError
from .run import checkpoint_path, run_dir_of
from .tasks import Task

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class LoadedRun:
    """A trained model with what it was trained on and for."""

    model: Module
    experiment: Experiment
    metadata: dict
    task: Task
    checkpoint: Path
    epoch: int  # epochs completed when the checkpoint was taken
    step: int


def load_run(target: str | os.PathLike, which: str = "best") -> LoadedRun:
    """The model of a run directory (its ``which`` checkpoint, "best" falling back to "last")
    or of a checkpoint file, in eval mode."""
    target = Path(target)
    if target.is_dir():
        path = checkpoint_path(target, which)
        if which == "best" and not path.is_file():
            path = checkpoint_path(target, "last")
    else:
        path = target
    if not path.is_file():
        raise checkpoint.CheckpointError(f"{target} holds no checkpoint (not a run directory "
                                         f"or a checkpoint file?)")
    try:
        state = checkpoint.load(path)
    except checkpoint.CheckpointError as error:
        last = checkpoint_path(run_dir_of(path), "last")
        if path.name == "best.npz" and last.is_file():
            raise checkpoint.CheckpointError(f"{error}; `dl eval {last}` evaluates the last "
                                             f"checkpoint instead") from None
        raise
    experiment = parse(state["config"], name=state["name"])
    model = components.build_model(experiment)
    model.load_state_dict(state["model"])
    model.eval()
    metadata = state["metadata"]
    return LoadedRun(model, experiment, metadata, components.build_task(experiment, metadata),
                     path, state["trainer"]["epoch"], state["updater"]["iteration"])


def read_inputs(loaded: LoadedRun, items: list[str]) -> tuple[np.ndarray, list[str]]:
    """(a batch of model inputs, a name for each sample: ``file`` or ``file[i]``) from
    ``items``: ``.npy`` files (one sample shaped like the
    dataset's, or a batch of them), image files (converted to the data's channels and size,
    scaled to [0, 1] and standardised like the training data; needs Pillow), or, for a language
    model, text prompts (tokenised with the run's vocabulary, all of one length)."""
    metadata = loaded.metadata
    if "vocab_size" in metadata:
        return _encode_prompts(loaded, items), list(items)
    shape = metadata.get("input_shape")
    samples, names = [], []
    for item in items:
        path = Path(item)
        if not path.is_file():
            raise ValueError(f"{item}: no such file (give .npy arrays or image files)")
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False).astype(np.float32)
            batch = array[None] if shape is not None and list(array.shape) == shape else array
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            batch = _read_image(path, metadata)[None]
        else:
            raise ValueError(f"{item}: expected a .npy array or an image "
                             f"({', '.join(IMAGE_SUFFIXES)})")
        if shape is not None and list(batch.shape[1:]) != shape:
            raise ValueError(f"{item}: shape {list(batch.shape)} fits neither one sample "
                             f"{shape} nor a batch [N, {', '.join(map(str, shape))}]")
        samples.append(batch)
        names += [item] if array_is_one(batch, path) else [f"{item}[{i}]"
                                                         for i in range(len(batch))]
    return np.concatenate(samples), names


def array_is_one(batch: np.ndarray, path: Path) -> bool:
    """Whether ``path`` held a single sample (named by the file alone)."""
    return len(batch) == 1 and (path.suffix.lower() != ".npy" or np.load(
        path, mmap_mode="r").ndim == batch.ndim - 1)


def _read_image(path: Path, metadata: dict) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise ValueError("reading images needs Pillow: pip install 'dlcore[images]' "
                         "(or pip install pillow)") from None
    shape = metadata.get("input_shape")
    if shape is None or len(shape) != 3:
        raise ValueError(f"{path}: this run's model does not take images")
    channels, height, width = shape
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L" if channels == 1 else "RGB")
                            .resize((width, height)), dtype=np.float32) / 255.0
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    normalize = metadata.get("normalize")
    if normalize:
        mean = np.asarray(normalize["mean"], np.float32).reshape(-1, 1, 1)
        std = np.asarray(normalize["std"], np.float32).reshape(-1, 1, 1)
        pixels = (pixels - mean) / std
    return pixels.astype(np.float32)


def vocabulary(loaded: LoadedRun) -> Vocab:
    """The token vocabulary of a text run: from its checkpoint's metadata, or (too large to
    be listed there) from its training data, which must then be on this machine."""
    if "vocab" in loaded.metadata:
        return Vocab.from_tokens(loaded.metadata["vocab"])
    if "vocab_size" not in loaded.metadata:
        raise ConfigError(f"this run's model ({loaded.experiment.model['name']}) does not "
                          f"read text")
    return components.build_dataset(loaded.experiment, "train").vocab


def encode_text(loaded: LoadedRun, text: str, vocab: Vocab | None = None) -> np.ndarray:
    """Token ids of ``text``, tokenised as the run's data was (unknown tokens → ``<unk>``)."""
    vocab = vocab or vocabulary(loaded)
    return vocab.encode(TOKENIZERS[loaded.experiment.data.get("tokens", "char")](text))


def _encode_prompts(loaded: LoadedRun, prompts: list[str]) -> np.ndarray:
    vocab = vocabulary(loaded)
    ids = [encode_text(loaded, prompt, vocab) for prompt in prompts]
    if len({len(row) for row in ids}) != 1 or not len(ids[0]):
        raise ValueError("text prompts must be non-empty and of one length in tokens")
    return np.stack(ids)


def predict(loaded: LoadedRun, inputs: np.ndarray, top_k: int = 3) -> list[dict]:
    """One dict per sample: what the task makes of the model's output (ConfigError when the
    task cannot predict from single inputs, as a GAN's cannot)."""
    top_k = checks.positive_int(None, "top_k", top_k)
    with no_grad():
        output = loaded.model(Tensor(inputs)).data
    try:
        return loaded.task.interpret(output, top_k)
    except NotImplementedError:
        raise ConfigError(f"the {loaded.task.name} task has no predictions from inputs") from None
