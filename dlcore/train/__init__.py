"""Experiments: TOML configs, tasks, updaters, the resumable trainer, checkpoints, ``run``."""
from .checkpoint import CheckpointError
from .config import ConfigError, Experiment, load, parse
from .evaluation import evaluate_run
from .run import (
    ConfigChanged, RunComplete, RunExists, RunInterrupted, RunLocked, checkpoint_path, run,
    run_dir_of, unique_run_dir,
)
from .tasks import TASKS, Task
from .trainer import Callback, Trainer
from .triggers import Trigger
from .updaters import UPDATERS, AdversarialUpdater, NonFiniteLoss, StandardUpdater, Updater

__all__ = ["AdversarialUpdater", "Callback", "CheckpointError", "ConfigChanged", "ConfigError",
           "Experiment", "NonFiniteLoss", "RunComplete", "RunExists", "RunInterrupted",
           "RunLocked", "StandardUpdater", "TASKS", "Task", "Trainer", "Trigger", "UPDATERS",
           "Updater", "checkpoint_path", "evaluate_run", "load", "parse", "run", "run_dir_of",
           "unique_run_dir"]
