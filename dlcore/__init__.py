"""dlcore: a CPU deep-learning framework with its own C kernels and a PyTorch-shaped API."""
# tensor first: it attaches the ops in dlcore.ops as Tensor methods, and they import it
from .tensor import (  # isort: skip
    Tensor, arange, device, enable_grad, eye, float32, float64, from_numpy, full, full_like,
    int64, is_grad_enabled, linspace, manual_seed, no_grad, ones, ones_like, rand, rand_like,
    randint, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from . import random
from .kernels import get_num_threads, set_num_threads
from .ops.elementwise import maximum, minimum, where
from .ops.linalg import matmul
from .ops.reduce import logsumexp
from .ops.shape import cat, chunk, split, stack

from .serialization import load, save

__version__ = "0.1.0"
from . import nn, optim  # noqa: E402 (they build on everything above)


def load_run(run, which: str = "best"):
    """``(model, config)`` of a trained run directory (its best checkpoint, else its last;
    ``which="last"`` for the last) or of a checkpoint file: the model rebuilt from the run's
    config, its weights loaded, in eval mode; the config as a validated Experiment."""
    from .train.predict import load_run as load_trained  # the training layer sits above
    loaded = load_trained(run, which)
    return loaded.model, loaded.experiment
