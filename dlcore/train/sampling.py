"""Image grids from trained generative models (``dl sample``, and the grid a run writes at each
evaluation): new samples from a VAE's prior or a GAN's generator, an autoencoder's
reconstructions of test images (inputs above, reconstructions below), and walks through its
code space between two test images.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dlcore import imaging
from dlcore.data import Dataset

from . import components
from .errors import ConfigError
from .tasks import EVAL_SEED, ImageTask, Reconstruction, Task

if TYPE_CHECKING:
    from .predict import LoadedRun

MODES = ("sample", "reconstruct", "interpolate")


def image_task(task: Task, mode: str) -> ImageTask:
    """The task, if it can make the images of ``mode``; else a ConfigError saying why."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(task, ImageTask):
        raise ConfigError(f"dl sample draws images from an autoencoder, a VAE or a GAN; this "
                          f"run's task is {task.name}")
    if not task.images_made:
        raise ConfigError(f"this run's samples are not images (input shape "
                          f"{task.metadata.get('input_shape')}), so there is no grid to draw")
    if mode == "sample" and not task.samples_from_prior:
        raise ConfigError(f"the {task.name} task's codes follow no known distribution to draw "
                          f"new images from; use --reconstruct or --interpolate (a VAE samples)")
    if mode != "sample" and not isinstance(task, Reconstruction):
        raise ConfigError(f"--{mode} needs an autoencoder or a VAE (an encoder); this run's "
                          f"task is {task.name}")
    return task


def images(task: Task, model, mode: str, n: int, rng: np.random.Generator,
           test: Dataset | None = None, steps: int = 10) -> tuple[np.ndarray, int]:
    """(pixels (M, C, H, W) in [0, 1], images per grid row) for ``mode``: "sample", n new
    images; "reconstruct", n random images of ``test`` and below each row of them, their
    reconstructions; "interpolate", ⌈n / steps⌉ rows of ``steps`` images, each walking from one
    random test image to another."""
    task = image_task(task, mode)
    if mode == "sample":
        return task.generate(model, n, rng), min(n, 8)
    if test is None or len(test) < 2:
        raise ValueError(f"--{mode} needs at least two test images")
    if mode == "reconstruct":
        columns = min(n, 8)
        chosen = test.get_batch(np.sort(rng.choice(len(test), min(n, len(test)),
                                                   replace=False)))[0]
        return np.concatenate([
            np.concatenate([task.pixels(chosen[i:i + columns]),
                            task.reconstruct(model, chosen[i:i + columns])])
            for i in range(0, len(chosen), columns)]), columns
    ends = test.get_batch(np.concatenate([rng.choice(len(test), 2, replace=False)
                                          for _ in range(-(-n // steps))]))[0]
    return np.concatenate([task.interpolate(model, ends[i], ends[i + 1], steps)
                           for i in range(0, len(ends), 2)]), steps


def write_grid(pixels: np.ndarray, columns: int, out: str | os.PathLike) -> Path:
    """The images as one PNG grid, ``columns`` per row, written atomically to ``out``."""
    return imaging.write_png(out, imaging.make_grid(pixels, nrow=columns, value_range=(0, 1)))


def sample(loaded: LoadedRun, out: str | os.PathLike, n: int = 64, mode: str = "sample",
           seed: int | None = None, steps: int = 10) -> dict:
    """Write the grid of ``mode`` (see :func:`images`) for a loaded run to ``out``; the
    reconstruct and interpolate modes take their images from the run's test split, which must
    be on this machine. {"out", "images", "columns"}."""
    image_task(loaded.task, mode)
    test = (None if mode == "sample" else components.build_dataset(
        loaded.experiment, loaded.experiment.data["test_split"]).for_evaluation())
    pixels, columns = images(loaded.task, loaded.model, mode, n, np.random.default_rng(seed),
                             test, steps)
    return {"out": str(write_grid(pixels, columns, out)), "images": len(pixels),
            "columns": columns}


def progress_grid(task: Task, model, test: Dataset, folder: Path, step: int) -> Path:
    """A run's grid at ``step``: ``folder/step_<step>.png``, 64 new samples where the task has
    a prior, else 32 test images and their reconstructions; the same seed every time. The
    model is measured in eval mode (BatchNorm's running statistics), as an evaluation is."""
    was_training = model.training
    model.eval()
    try:
        pixels, columns = images(task, model, "sample" if task.samples_from_prior
                                 else "reconstruct", 64 if task.samples_from_prior else 32,
                                 np.random.default_rng(EVAL_SEED), test)
    finally:
        model.train(was_training)
    folder.mkdir(parents=True, exist_ok=True)
    return write_grid(pixels, columns, folder / f"step_{step:07d}.png")
