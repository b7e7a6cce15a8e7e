"""Experiments: TOML configs, the resumable trainer, checkpoints, ``run`` and ``evaluate_run``."""
from .checkpoint import CheckpointError
from .config import ConfigError, Experiment, load, parse
from .evaluation import evaluate_run
from .run import ConfigChanged, RunInterrupted, checkpoint_path, run
from .trainer import NonFiniteLoss, Trainer

__all__ = ["CheckpointError", "ConfigChanged", "ConfigError", "Experiment", "NonFiniteLoss",
           "RunInterrupted", "Trainer", "checkpoint_path", "evaluate_run", "load", "parse", "run"]
