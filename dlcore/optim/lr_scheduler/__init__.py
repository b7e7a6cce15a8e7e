"""Learning-rate schedules with PyTorch's names, signatures and step semantics."""
from dlcore.optim.lr_scheduler.base import LRScheduler
from dlcore.optim.lr_scheduler.closed_form import LambdaLR, NoamLR, OneCycleLR
from dlcore.optim.lr_scheduler.decay import (CosineAnnealingLR, ExponentialLR, LinearLR,
                                             MultiStepLR, StepLR)
from dlcore.optim.lr_scheduler.plateau import ReduceLROnPlateau

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "LambdaLR", "OneCycleLR", "NoamLR", "ReduceLROnPlateau"]
