"""One optimisation step, and the state it needs to be resumed (Chainer's Updater).

The trainer owns the loop; an updater owns what happens to one batch: the forward pass (asked
of the task), the NaN check, the backward pass, clipping, the optimizer steps and per-step lr
schedules. It holds one optimizer per *role*: ``model`` for the standard updater, ``generator``
and ``discriminator`` for the adversarial one; the config's ``[optim]`` / ``[optim.<role>]``
tables configure them, and its ``[train]`` table the updater's own options.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from dlcore import random as dl_random
from dlcore.nn import Module
from dlcore.nn.utils import clip_grad_norm_
from dlcore.optim import Optimizer
from dlcore.optim.lr_scheduler import ReduceLROnPlateau
from dlcore.tensor import Tensor, no_grad

from .metrics import Meter

if TYPE_CHECKING:
    from .tasks import Task


def arrays(output):
    """A model's output as arrays: a tensor's data, or a tuple of them (a VAE returns its
    reconstruction with the posterior's mean and log variance)."""
    if isinstance(output, tuple):
        return tuple(part.data for part in output)
    return output.data


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; nothing was updated with it."""

    def __init__(self, step: int, loss: float, last_finite: float | None, what: str = "loss"):
        self.step, self.loss, self.last_finite = step, loss, last_finite
        last = "none yet" if last_finite is None else f"{last_finite:.6g}"
        super().__init__(f"the {what} is {loss} at step {step} (last finite {what}: {last}); "
                         "stopped without updating the parameters. Lower the learning rate or "
                         "set train.clip_grad_norm")


class Updater:
    """The state shared by every updater: optimizers and schedules per role, the step count,
    the last finite loss. ``schedulers`` maps a role to (scheduler, "epoch" or "step")."""

    roles: ClassVar[tuple[str, ...]] = ("model",)

    def __init__(self, model: Module, task: Task, optimizers: dict[str, Optimizer],
                 schedulers: dict[str, tuple[object, str]], clip_grad_norm: float = 0.0):
        if set(optimizers) != set(self.roles):
            raise ValueError(f"{type(self).__name__} needs one optimizer per role "
                             f"({', '.join(self.roles)}), got {', '.join(optimizers)}")
        self.check_options(clip_grad_norm=clip_grad_norm)
        self.model, self.task = model, task
        self.modules = self.role_modules(model)
        self.optimizers, self.schedulers = optimizers, schedulers
        self.clip_grad_norm = clip_grad_norm
        self.iteration = 0  # steps done
        self.last_finite: dict[str, float] = {}

    @classmethod
    def check_options(cls, clip_grad_norm: float = 0.0) -> None:
        """ValueError naming the option unless the updater's options are valid (a config is
        checked with this before anything is built)."""
        if not (clip_grad_norm >= 0 and math.isfinite(clip_grad_norm)):
            raise ValueError(f"clip_grad_norm must be >= 0 (0 = off), got {clip_grad_norm!r}")

    @classmethod
    def role_modules(cls, model: Module) -> dict[str, Module]:
        """The module each role's optimizer trains."""
        return {"model": model}

    def update(self, batch, meter: Meter) -> None:
        """One step on ``batch``; its metrics go into ``meter``."""
        raise NotImplementedError

    def _checked(self, loss: Tensor, what: str = "loss") -> float:
        """The loss as a float; NonFiniteLoss (before anything is updated) if NaN or inf."""
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(self.iteration + 1, value, self.last_finite.get(what), what)
        self.last_finite[what] = value
        return value

    def _optimize(self, role: str, loss: Tensor) -> None:
        """Backward from ``loss`` into ``role``'s parameters, clip, step, per-step schedule."""
        optimizer = self.optimizers[role]
        optimizer.zero_grad()
        loss.backward()
        if self.clip_grad_norm > 0:
            clip_grad_norm_(self.modules[role].parameters(), self.clip_grad_norm)
        optimizer.step()
        scheduler = self.schedulers.get(role)
        if scheduler is not None and scheduler[1] == "step":
            scheduler[0].step()

    def step_epoch_schedules(self, metric: float | None) -> None:
        """Step the per-epoch schedules; ``metric`` (the latest loss) feeds ReduceLROnPlateau."""
        for scheduler, interval in self.schedulers.values():
            if interval != "epoch":
                continue
            if isinstance(scheduler, ReduceLROnPlateau):
                if metric is not None:  # nothing measured yet: nothing to plateau on
                    scheduler.step(metric)
            else:
                scheduler.step()

    @property
    def needs_metric(self) -> bool:
        return any(isinstance(s, ReduceLROnPlateau) for s, _ in self.schedulers.values())

    def lrs(self) -> dict[str, float]:
        """The current learning rate of each role's first parameter group."""
        return {role: float(optimizer.param_groups[0]["lr"])
                for role, optimizer in self.optimizers.items()}

    def start_epoch(self) -> None:
        """A training epoch begins: the task may reset what it carries between batches."""
        self.task.start_epoch()

    def state_dict(self) -> dict:
        return {"optimizers": {role: o.state_dict() for role, o in self.optimizers.items()},
                "schedulers": {role: s.state_dict() for role, (s, _) in self.schedulers.items()},
                "iteration": self.iteration, "last_finite": dict(self.last_finite),
                "task": self.task.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for role, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][role])
        for role, (scheduler, _) in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][role])
        self.iteration = int(state["iteration"])
        self.last_finite = {k: float(v) for k, v in state["last_finite"].items()}
        self.task.load_state_dict(state.get("task", {}))  # checkpoints before it: nothing carried


class StandardUpdater(Updater):
    """One model, one optimizer: loss of the batch, backward, clip, step."""

    def update(self, batch, meter):
        self.model.train()
        loss, output, targets = self.task.compute(self.model, batch)
        value = self._checked(loss)
        self._optimize("model", loss)
        self.iteration += 1
        self.task.measure(meter, value, arrays(output), targets)


class AdversarialUpdater(Updater):
    """A GAN step (d2l's ``update_D`` then ``update_G``): every step trains the discriminator
    on the batch against as many generated samples; every ``n_critic``-th step the generator
    then learns from the updated discriminator's verdict on those same samples.

    The model holds ``generator``, ``discriminator`` and ``latent_shape`` (one sample's latent
    code; codes are drawn N(0, 1) from dlcore's global generator, so a checkpoint resumes them).
    """

    roles: ClassVar[tuple[str, ...]] = ("generator", "discriminator")

    def __init__(self, model, task, optimizers, schedulers, clip_grad_norm: float = 0.0,
                 n_critic: int = 1):
        self.check_options(n_critic=n_critic)
        super().__init__(model, task, optimizers, schedulers, clip_grad_norm)
        self.n_critic = n_critic

    @classmethod
    def check_options(cls, clip_grad_norm: float = 0.0, n_critic: int = 1) -> None:
        super().check_options(clip_grad_norm)
        if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"n_critic must be an integer >= 1 (discriminator steps per "
                             f"generator step), got {n_critic!r}")

    @classmethod
    def role_modules(cls, model):
        missing = [name for name in ("generator", "discriminator", "latent_shape")
                   if not hasattr(model, name)]
        if missing:
            raise TypeError(f"adversarial training needs a model with a generator, a "
                            f"discriminator and a latent_shape (dlcore.models.GAN); "
                            f"{type(model).__name__} has no {', '.join(missing)}")
        return {"generator": model.generator, "discriminator": model.discriminator}

    def update(self, batch, meter):
        generator, discriminator = self.modules["generator"], self.modules["discriminator"]
        self.model.train()
        real = batch[0]
        z = dl_random.generator().standard_normal(
            (len(real), *self.model.latent_shape)).astype(np.float32)
        train_generator = (self.iteration + 1) % self.n_critic == 0
        if train_generator:
            fake = generator(Tensor(z))
        else:
            with no_grad():
                fake = generator(Tensor(z))
        real_logits, fake_logits = discriminator(Tensor(real)), discriminator(fake.detach())
        loss_d = self.task.discriminator_loss(real_logits, fake_logits)
        value_d = self._checked(loss_d, "loss_d")
        self._optimize("discriminator", loss_d)
        self.task.measure_discriminator(meter, value_d, real_logits.data, fake_logits.data)
        if train_generator:
            discriminator.requires_grad_(False)  # its gradients would only be thrown away
            try:
                loss_g = self.task.generator_loss(discriminator(fake))
                value_g = self._checked(loss_g, "loss_g")
                self._optimize("generator", loss_g)
            finally:
                discriminator.requires_grad_(True)
            self.task.measure_generator(meter, value_g, len(real))
        self.iteration += 1


UPDATERS: dict[str, type[Updater]] = {"standard": StandardUpdater,
                                      "adversarial": AdversarialUpdater}
