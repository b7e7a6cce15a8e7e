"""Optimizers (one general update behind PyTorch-named constructors) and lr schedules."""
from dlcore.optim import lr_scheduler
from dlcore.optim.optimizer import Optimizer
from dlcore.optim.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]
