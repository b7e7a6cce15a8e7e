"""What is being learnt: how a batch feeds the model, the loss, and the metrics it reports.

A task is chosen by ``[task] name`` (by default the model's registered task) and registered
here by name. It says how a batch of the dataset splits into the model's inputs and the
targets, computes the mean loss of a batch, adds the batch to a :class:`~.metrics.Meter` and
turns the meter into metrics (``loss``, ``accuracy``, ...), and names the metric that picks
the best checkpoint with whether more or less is better. Which updater runs its steps is the
task's choice too (an adversarial task needs two optimizers).

Everything about a particular kind of experiment lives here; the trainer and the updaters
only ever call these methods.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from dlcore import checks, decoding
from dlcore import random as dl_random
from dlcore.metrics import bleu_from_statistics, bleu_statistics
from dlcore.nn import Module
from dlcore.nn import functional as F
from dlcore.tensor import Tensor, no_grad

from .metrics import Meter
from .updaters import AdversarialUpdater, StandardUpdater, Updater, arrays

Batch = Sequence[np.ndarray]
#: Evaluation draws its randomness (a GAN's latent codes) from a generator of its own, seeded
#: alike every time, so that two evaluations of one model agree and training's RNG is untouched.
EVAL_SEED = 0

TASKS: dict[str, type[Task]] = {}


def register(name: str) -> Callable[[type[Task]], type[Task]]:
    def add(cls: type[Task]) -> type[Task]:
        if name in TASKS:
            raise ValueError(f"register: a task named {name!r} already exists")
        cls.name = name
        TASKS[name] = cls
        return cls
    return add


def _perplexity(mean_loss: float) -> float:
    return math.exp(mean_loss) if mean_loss < 700 else math.inf


class Task:
    """The supervised default: a batch is ``(*inputs, targets)``, ``model(*inputs)`` predicts.

    Subclasses set :attr:`metrics` (name → "min" or "max"), :attr:`monitor`, and define
    :meth:`loss`, :meth:`measure` and :meth:`result`; ``__init__``'s keyword arguments are the
    task's ``[task]`` options.
    """

    name: ClassVar[str] = ""
    updater: ClassVar[type[Updater]] = StandardUpdater
    metrics: ClassVar[dict[str, str]] = {"loss": "min"}
    monitor: ClassVar[str] = "loss"

    def __init__(self, metadata: dict):
        self.metadata = metadata  # the dataset's (dlcore.data.Dataset.metadata)

    def split(self, batch: Batch) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """(the model's inputs, the targets) of a batch."""
        if len(batch) < 2:
            raise ValueError(f"the {self.name} task needs batches of (inputs, targets); the "
                             f"dataset yields {len(batch)} array per sample")
        return tuple(batch[:-1]), batch[-1]

    def forward(self, model: Module, inputs: Sequence[np.ndarray]) -> Tensor:
        return model(*(Tensor(x) for x in inputs))

    def compute(self, model: Module, batch: Batch) -> tuple[Tensor, Tensor, np.ndarray]:
        """(mean loss, model output, targets) of a batch, in the model's current mode."""
        inputs, targets = self.split(batch)
        output = self.forward(model, inputs)
        return self.loss(output, targets), output, targets

    def loss(self, output: Tensor, targets: np.ndarray) -> Tensor:
        raise NotImplementedError

    def measure(self, meter: Meter, loss: float, output: np.ndarray, targets: np.ndarray
                ) -> None:
        """Add one batch (its mean loss, the output and targets as arrays) to ``meter``."""
        raise NotImplementedError

    def result(self, meter: Meter) -> dict:
        """The metrics of what ``meter`` holds (empty when it holds nothing)."""
        raise NotImplementedError

    def interpret(self, output: np.ndarray, top_k: int) -> list[dict]:
        """What the model's output for a batch of inputs says, one dict per sample."""
        raise NotImplementedError

    def check_model(self, model: Module) -> None:
        """TypeError unless ``model`` can be trained for this task (checked once, before
        training starts)."""

    def start_epoch(self) -> None:
        """A training epoch begins (a task that carries state between batches resets it)."""

    def state_dict(self) -> dict:
        """What the task carries between batches, for a checkpoint (most carry nothing)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"the {self.name} task carries no state, the checkpoint has "
                             f"{sorted(state)}")

    def evaluate(self, model: Module, loader, detailed: bool = False) -> dict:
        """Metrics of ``model`` over one pass of ``loader``, in eval mode, without gradients."""
        meter, rng = Meter(detailed), np.random.default_rng(EVAL_SEED)
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                for batch in loader:
                    self.evaluate_batch(model, batch, meter, rng)
        finally:
            model.train(was_training)
        return self.result(meter)

    def evaluate_batch(self, model: Module, batch: Batch, meter: Meter,
                       rng: np.random.Generator) -> None:
        loss, output, targets = self.compute(model, batch)
        self.measure(meter, float(loss.item()), arrays(output), targets)


class _TokenTask(Task):
    """Cross-entropy over class ids: loss, accuracy and (for sequences) perplexity, averaged
    over the scored items (samples, or tokens not ignored)."""

    metrics: ClassVar[dict[str, str]] = {"loss": "min", "accuracy": "max"}
    monitor: ClassVar[str] = "accuracy"
    ignore_index: int = -100

    def loss(self, output: Tensor, targets: np.ndarray) -> Tensor:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), targets.reshape(-1),
                               ignore_index=self.ignore_index)

    def measure(self, meter, loss, output, targets):
        scored = targets != self.ignore_index
        items = int(scored.sum())
        predicted = output.argmax(axis=-1)
        meter.add("loss", loss * items, items)
        meter.add("accuracy", int(((predicted == targets) & scored).sum()), items)

    def result(self, meter):
        if not meter:
            return {}
        metrics = {"loss": meter.mean("loss"), "accuracy": meter.mean("accuracy")}
        if "perplexity" in self.metrics:
            metrics["perplexity"] = _perplexity(metrics["loss"])
        return metrics


def _state_parts(state) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _top(logits: np.ndarray, top_k: int, names) -> list[dict]:
    """The ``top_k`` most probable ids of each row of ``logits`` with their probabilities."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    rows = []
    for row in probabilities:
        best = np.argsort(-row, kind="stable")[:top_k]
        rows.append({"top": [{"id": int(i), "name": None if names is None else names[i],
                              "probability": float(row[i])} for i in best]})
    return rows


@register("classification")
class Classification(_TokenTask):
    """Logits (N, C) against int labels (N,); a detailed evaluation adds the confusion matrix
    (rows: true class, columns: predicted)."""

    def measure(self, meter, loss, output, targets):
        super().measure(meter, loss, output, targets)
        if meter.detailed:
            classes = output.shape[-1]
            matrix = np.zeros((classes, classes), dtype=np.int64)
            np.add.at(matrix, (targets, output.argmax(axis=-1)), 1)
            meter.add_array("confusion_matrix", matrix)

    def interpret(self, output, top_k):
        return _top(output, top_k, self.metadata.get("classes"))

    def result(self, meter):
        metrics = super().result(meter)
        if "confusion_matrix" in meter.arrays:
            metrics["confusion_matrix"] = meter.arrays["confusion_matrix"].tolist()
        return metrics


@register("language_model")
class LanguageModel(_TokenTask):
    """Logits (N, T, V) against the next tokens (N, T): per-token loss, accuracy, perplexity.

    When the dataset's sampling is "sequential" (row i of a batch continues row i of the batch
    before), the model's state is carried from batch to batch and detached, so gradients stop
    at the batch's start: truncated backpropagation through time (d2l §9.7). The model then
    needs ``forward_with_state(tokens, state) -> (logits, state)``; the state starts afresh
    (None) at every training epoch and every evaluation, and a checkpoint keeps it.
    """

    metrics: ClassVar[dict[str, str]] = {"loss": "min", "accuracy": "max", "perplexity": "min"}
    monitor: ClassVar[str] = "loss"

    def __init__(self, metadata: dict):
        super().__init__(metadata)
        self.carries_state = metadata.get("sampling") == "sequential"
        self._state = None  # a Tensor or a tuple of them (an LSTM's (h, c)), detached

    def check_model(self, model):
        if self.carries_state and not hasattr(model, "forward_with_state"):
            raise TypeError(f"sequential sampling carries a model's state across batches, and "
                            f"{type(model).__name__} has none (no forward_with_state); use "
                            f"data.sampling = \"random\" or \"fixed\"")

    def forward(self, model, inputs):
        if not self.carries_state:
            return super().forward(model, inputs)
        if self._state is not None and _state_parts(self._state)[0].shape[-2] != len(inputs[0]):
            self._state = None  # a batch of other rows (the last, smaller one) starts afresh
        logits, state = model.forward_with_state(Tensor(inputs[0]), self._state)
        self._state = (tuple(part.detach() for part in state) if isinstance(state, tuple)
                       else state.detach())
        return logits

    def evaluate(self, model, loader, detailed=False):
        training_state, self._state = self._state, None
        try:
            return super().evaluate(model, loader, detailed)
        finally:
            self._state = training_state

    def start_epoch(self):
        self._state = None

    def state_dict(self):
        if self._state is None:
            return {}
        return {"carried": [part.data for part in _state_parts(self._state)],
                "tuple": isinstance(self._state, tuple)}

    def load_state_dict(self, state):
        if not state:
            self._state = None
            return
        if not self.carries_state or set(state) != {"carried", "tuple"}:
            raise ValueError(f"the checkpoint's {self.name} task state {sorted(state)} does not "
                             f"fit a task that {'carries' if self.carries_state else 'carries no'}"
                             f" state")
        parts = tuple(Tensor(np.asarray(part)) for part in state["carried"])
        self._state = parts if state["tuple"] else parts[0]

    def interpret(self, output, top_k):
        """The most probable next tokens after each prompt."""
        return _top(output[:, -1], top_k, self.metadata.get("vocab"))


@register("seq2seq")
class Seq2Seq(LanguageModel):
    """Encoder-decoder with teacher forcing. A batch is (source, source_valid_len, target,
    target_valid_len) with ``<eos>``-terminated, ``<pad>``-padded rows; the decoder reads
    ``<bos>`` followed by the target shifted right and predicts the target,
    ``model(source, decoder_input, source_valid_len)`` → logits (N, T, V). Padding is neither
    scored nor counted in the loss, accuracy and perplexity.

    Every evaluation also translates each source greedily (up to ``<eos>`` or the dataset's
    ``num_steps``) and reports the corpus BLEU of the translations against the targets
    (``bleu``, 0-100; a reference's ``<unk>`` matches nothing); a detailed one (``dl eval``)
    adds ``bleu_beam``, by beam search with ``beam_size`` beams (0: not searched).
    """

    metrics: ClassVar[dict[str, str]] = {**LanguageModel.metrics, "bleu": "max",
                                         "bleu_beam": "max"}
    #: the best checkpoint is the one that translates best (the loss keeps falling on the
    #: training verses while the held-out translations stop improving)
    monitor: ClassVar[str] = "bleu"

    def __init__(self, metadata: dict, beam_size: int = 4):
        super().__init__(metadata)
        missing = [key for key in ("pad_id", "bos_id", "eos_id") if key not in metadata]
        if missing:
            raise ValueError(f"the seq2seq task needs a dataset whose metadata has pad_id, "
                             f"bos_id and eos_id (a translation dataset); this one lacks "
                             f"{', '.join(missing)}")
        self.ignore_index, self.bos_id = int(metadata["pad_id"]), int(metadata["bos_id"])
        self.eos_id, self.unk_id = int(metadata["eos_id"]), int(metadata.get("unk_id", 0))
        self.max_length = int(metadata.get("num_steps", 32))
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 0:
            raise ValueError(f"beam_size must be an integer >= 0 (0: no beam search), got "
                             f"{beam_size!r}")
        self.beam_size = beam_size

    def check_model(self, model):
        if not hasattr(model, "start_state"):
            raise TypeError(f"the seq2seq task decodes through an encoder-decoder's "
                            f"start_state; {type(model).__name__} has none")

    def translate(self, model: Module, source: np.ndarray, source_len: np.ndarray,
                  beam_size: int = 0) -> list[list[int]]:
        """Target ids of each source row, ``<eos>`` and after dropped: greedy, or the best
        hypothesis of a beam search with ``beam_size`` beams."""
        source, source_len = np.asarray(source), np.asarray(source_len)
        with no_grad():
            state = model.start_state(Tensor(source), Tensor(source_len))
        if not beam_size:
            stepper = decoding.ModelStepper(model, state)
            rows = decoding.sample(stepper, np.full((len(source), 1), self.bos_id),
                                   self.max_length, temperature=0, eos_id=self.eos_id)
        else:
            rows = [list(decoding.beam_search(
                decoding.ModelStepper(model, model.select_state(state, np.array([i]))),
                [[self.bos_id]], self.max_length, beam_size, eos_id=self.eos_id)[0].tokens)
                for i in range(len(source))]
        return [row[:row.index(self.eos_id)] if self.eos_id in row else row for row in rows]

    def _references(self, target: np.ndarray) -> list[list[int]]:
        """The target rows up to ``<eos>``, each ``<unk>`` made unmatchable (-1)."""
        rows = []
        for row in target.tolist():
            row = row[:row.index(self.eos_id)] if self.eos_id in row else row
            rows.append([-1 if token == self.unk_id else token for token in row
                         if token != self.ignore_index])
        return rows

    def evaluate_batch(self, model, batch, meter, rng):
        super().evaluate_batch(model, batch, meter, rng)
        source, source_len, target, _ = batch
        references = self._references(target)
        searches = [("bleu", 0)] + ([("bleu_beam", self.beam_size)]
                                    if meter.detailed and self.beam_size else [])
        for name, beam in searches:
            hypotheses = self.translate(model, source, source_len, beam)
            meter.add_array(name, bleu_statistics(hypotheses, references))

    def result(self, meter):
        metrics = super().result(meter)
        for name in ("bleu", "bleu_beam"):
            if name in meter.arrays:
                metrics[name] = bleu_from_statistics(meter.arrays[name])
        return metrics

    def interpret(self, output, top_k):
        raise NotImplementedError  # a translation needs decoding, not one forward pass

    def split(self, batch):
        if len(batch) != 4:
            raise ValueError(f"the seq2seq task needs batches of (source, source_valid_len, "
                             f"target, target_valid_len); the dataset yields {len(batch)} "
                             f"arrays per sample")
        source, source_len, target, _ = batch
        bos = np.full((len(target), 1), self.bos_id, dtype=target.dtype)
        decoder_input = np.concatenate([bos, target[:, :-1]], axis=1)
        return (source, decoder_input, source_len), target


@register("regression")
class Regression(Task):
    """Predictions (N, K) against float targets (N, K): mean squared error."""

    def loss(self, output, targets):
        return F.mse_loss(output, Tensor(targets))

    def measure(self, meter, loss, output, targets):
        meter.add("loss", loss * len(targets), len(targets))

    def result(self, meter):
        return {"loss": meter.mean("loss")} if meter else {}

    def interpret(self, output, top_k):
        return [{"value": row.reshape(-1).tolist()} for row in output]


class ImageTask(Task):
    """What every generative image task shares: its model's images as pixels in [0, 1]."""

    #: ``dl sample`` draws new images (from a prior or a generator) only where this holds.
    samples_from_prior: ClassVar[bool] = True

    @property
    def images_made(self) -> bool:
        """Whether the samples are images (N, C, H, W) a grid can show (a GAN of 2-D points'
        are not)."""
        return len(self.metadata.get("input_shape", ())) == 3

    def pixels(self, images: np.ndarray) -> np.ndarray:
        """Images in the data's space (standardised or in [-1, 1], as the metadata's
        ``normalize`` says) as pixels in [0, 1]."""
        normalize = self.metadata.get("normalize")
        if normalize:
            shape = (1, -1) + (1,) * (images.ndim - 2)
            images = (images * np.asarray(normalize["std"], np.float32).reshape(shape)
                      + np.asarray(normalize["mean"], np.float32).reshape(shape))
        return np.clip(images, 0.0, 1.0)

    def generate(self, model: Module, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` new images (N, C, H, W) as pixels in [0, 1], from codes drawn by ``rng``."""
        z = rng.standard_normal((n, *model.latent_shape)).astype(np.float32)
        with no_grad():
            return self.pixels(self.decode(model, Tensor(z)))

    def decode(self, model: Module, z: Tensor) -> np.ndarray:
        """The images (data space) that codes ``z`` decode to."""
        raise NotImplementedError


@register("reconstruction")
class Reconstruction(ImageTask):
    """An autoencoder learns to give back its input through a narrow code. A batch is
    ``(images,)`` or ``(images, labels)``; the labels are ignored.

    ``loss = "bce"`` (the default) models each pixel in [0, 1] as a Bernoulli variable: the
    decoder's output is logits, the loss is their binary cross-entropy summed over an image's
    pixels (nats per image; the data needs ``normalize = false``). ``"mse"``: the output is the
    image itself, the loss its mean squared error per pixel. ``mse`` is reported either way,
    per pixel, in the data's space.
    """

    metrics: ClassVar[dict[str, str]] = {"loss": "min", "mse": "min"}
    samples_from_prior = False  # a plain autoencoder's codes follow no known distribution
    LOSSES = ("bce", "mse")

    def __init__(self, metadata: dict, loss: str = "bce"):
        super().__init__(metadata)
        self.kind = checks.one_of(self.name, "loss", loss, self.LOSSES)
        if self.kind == "bce" and metadata.get("normalize"):
            raise ValueError(f"the {self.name} task's bce loss models pixels in [0, 1], but the "
                             f"data is standardised: set data.normalize = false (or task.loss "
                             f"= \"mse\")")

    def split(self, batch):
        return (batch[0],), batch[0]

    def check_model(self, model):
        missing = [name for name in ("encode", "decode", "latent_shape")
                   if not hasattr(model, name)]
        if missing:
            raise TypeError(f"the {self.name} task needs an autoencoder (encode, decode, "
                            f"latent_shape); {type(model).__name__} has no {', '.join(missing)}")

    def image_loss(self, output: Tensor, targets: np.ndarray) -> Tensor:
        """The reconstruction loss of a batch (per image for bce, per pixel for mse)."""
        if self.kind == "mse":
            return F.mse_loss(output, Tensor(targets))
        return F.binary_cross_entropy_with_logits(output, Tensor(targets),
                                                  reduction="sum") * (1.0 / len(targets))

    def loss(self, output, targets):
        return self.image_loss(output, targets)

    def images(self, output: np.ndarray) -> np.ndarray:
        """The decoder's output as images in the data's space."""
        return 0.5 * (np.tanh(0.5 * output) + 1) if self.kind == "bce" else output

    def measure(self, meter, loss, output, targets):
        n = len(targets)
        meter.add("loss", loss * n, n)
        meter.add("mse", float(((self.images(output) - targets) ** 2).sum()), targets.size)

    def result(self, meter):
        return {name: meter.mean(name) for name in self.metrics if meter.mean(name) is not None}

    def interpret(self, output, top_k):
        return [{"reconstruction": image.tolist()} for image in self.images(output)]

    def decode(self, model, z):
        return self.images(model.decode(z).data)

    def code(self, model: Module, x: Tensor) -> Tensor:
        """The code of images x: the encoder's output (a VAE's posterior mean)."""
        return model.encode(x)

    def reconstruct(self, model: Module, images: np.ndarray) -> np.ndarray:
        """The model's reconstructions of ``images`` (data space) as pixels in [0, 1]."""
        with no_grad():
            return self.pixels(self.decode(model, self.code(model, Tensor(images))))

    def interpolate(self, model: Module, first: np.ndarray, last: np.ndarray,
                    steps: int) -> np.ndarray:
        """``steps`` images (pixels) decoded from codes evenly spaced on the straight line from
        the code of image ``first`` to that of ``last`` (each (C, H, W), data space)."""
        with no_grad():
            ends = self.code(model, Tensor(np.stack([first, last]))).data
            weights = np.linspace(0.0, 1.0, steps, dtype=np.float32).reshape(
                (steps,) + (1,) * (ends.ndim - 1))
            codes = (1 - weights) * ends[:1] + weights * ends[1:]
            return self.pixels(self.decode(model, Tensor(codes)))


@register("vae")
class Variational(Reconstruction):
    """A VAE maximises the evidence lower bound: loss = reconstruction + β·KL, where the
    reconstruction is the Bernoulli decoder's binary cross-entropy (nats per image) of a code
    drawn from the posterior q(z|x) and KL = KL(q(z|x) ‖ N(0, I)) (nats per image).
    ``beta`` = 1 is the VAE; β > 1 trades reconstruction for a smoother, more disentangled code
    (β-VAE). ``neg_elbo`` = reconstruction + KL whatever β is: an upper bound on the test
    images' negative log-likelihood, the number to compare. Evaluation draws the codes from its
    own seeded generator, so two evaluations agree.
    """

    metrics: ClassVar[dict[str, str]] = {"loss": "min", "neg_elbo": "min",
                                         "reconstruction": "min", "kl": "min", "mse": "min"}
    monitor: ClassVar[str] = "neg_elbo"
    samples_from_prior = True

    def __init__(self, metadata: dict, beta: float = 1.0):
        super().__init__(metadata, loss="bce")
        self.beta = checks.in_range(self.name, "beta", beta, 0.0)

    def compute(self, model, batch):
        (x,), targets = self.split(batch)
        logits, mean, log_var = model(Tensor(x))
        return self.combine(logits, mean, log_var, targets), (logits, mean, log_var), targets

    def combine(self, logits: Tensor, mean: Tensor, log_var: Tensor,
                targets: np.ndarray) -> Tensor:
        return self.image_loss(logits, targets) + F.gaussian_kl(mean, log_var) * self.beta

    def measure(self, meter, loss, output, targets):
        logits, mean, log_var = output
        n = len(targets)
        with no_grad():  # the loss's own two terms, summed over the batch
            reconstruction = float(F.binary_cross_entropy_with_logits(
                Tensor(logits), Tensor(targets), reduction="sum").item())
            kl = float(F.gaussian_kl(Tensor(mean), Tensor(log_var), reduction="sum").item())
        for name, total in (("loss", loss * n), ("neg_elbo", reconstruction + kl),
                            ("reconstruction", reconstruction), ("kl", kl)):
            meter.add(name, total, n)
        super().measure(meter, loss, logits, targets)

    def evaluate_batch(self, model, batch, meter, rng):
        (x,), targets = self.split(batch)
        mean, log_var = model.encode(Tensor(x))
        noise = rng.standard_normal(mean.shape).astype(np.float32)
        logits = model.decode(mean + (log_var * 0.5).exp() * Tensor(noise))
        loss = self.combine(logits, mean, log_var, targets)
        self.measure(meter, float(loss.item()), arrays((logits, mean, log_var)), targets)

    def code(self, model, x):
        return model.encode(x)[0]

    def interpret(self, output, top_k):
        return super().interpret(output[0], top_k)


@register("adversarial")
class Adversarial(ImageTask):
    """A GAN (d2l ch. 20): the discriminator learns to tell data (label 1) from generated
    samples (label 0) by binary cross-entropy on its logits; the generator learns to make it
    say 1 (the non-saturating loss). A batch is ``(samples,)`` or ``(samples, labels)``; the
    labels are ignored.

    ``label_smoothing`` lowers the real label to ``1 - label_smoothing`` (one-sided label
    smoothing, Salimans et al. 2016), which keeps the discriminator from growing overconfident.
    ``label_flipping`` swaps the real and fake labels of that fraction of the discriminator's
    training examples (noisy labels, drawn from the checkpointed generator), another brake
    on a discriminator that wins too early. Evaluation never smooths or flips.

    Evaluation reports both losses, the discriminator's accuracy and, for samples of at most
    :attr:`FRECHET_MAX_FEATURES` numbers, the Fréchet distance between the data's and the
    generated samples' Gaussian fits: ``|mu_r - mu_g|^2 + tr(C_r + C_g - 2 (C_r C_g)^½)``.
    """

    updater: ClassVar[type[Updater]] = AdversarialUpdater
    metrics: ClassVar[dict[str, str]] = {"loss_d": "min", "loss_g": "min", "d_accuracy": "max",
                                         "frechet_distance": "min"}
    monitor: ClassVar[str] = "frechet_distance"
    FRECHET_MAX_FEATURES = 1024

    def __init__(self, metadata: dict, label_smoothing: float = 0.0,
                 label_flipping: float = 0.0):
        super().__init__(metadata)
        self.label_smoothing = checks.in_range(None, "label_smoothing", label_smoothing, 0.0, 1.0,
                                               high_open=True)
        self.label_flipping = checks.in_range(None, "label_flipping", label_flipping, 0.0, 0.5,
                                              high_open=True)

    def split(self, batch):
        return (batch[0],), None

    def decode(self, model, z):
        return model.generator(z).data

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor,
                           training: bool = True) -> Tensor:
        """The mean BCE of "data" on real and "generated" on fake logits; in ``training``,
        with the labels smoothed and flipped as the options say."""
        real = np.full(real_logits.shape, 1.0 - self.label_smoothing * training,
                       dtype=np.float32)
        fake = np.zeros(fake_logits.shape, dtype=np.float32)
        if training and self.label_flipping:
            draw = dl_random.generator().random
            real[draw(real.shape) < self.label_flipping] = 0.0
            fake[draw(fake.shape) < self.label_flipping] = 1.0
        return (F.binary_cross_entropy_with_logits(real_logits, Tensor(real))
                + F.binary_cross_entropy_with_logits(fake_logits, Tensor(fake))) * 0.5

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            fake_logits, Tensor(np.ones(fake_logits.shape, dtype=np.float32)))

    def measure_discriminator(self, meter: Meter, loss: float, real_logits: np.ndarray,
                              fake_logits: np.ndarray) -> None:
        n = len(real_logits)
        meter.add("loss_d", loss * n, n)
        meter.add("d_accuracy", int((real_logits > 0).sum() + (fake_logits < 0).sum()),
                  real_logits.size + fake_logits.size)

    def measure_generator(self, meter: Meter, loss: float, n: int) -> None:
        meter.add("loss_g", loss * n, n)

    def evaluate_batch(self, model, batch, meter, rng):
        real = batch[0]
        z = rng.standard_normal((len(real), *model.latent_shape)).astype(np.float32)
        fake = model.generator(Tensor(z))
        real_logits, fake_logits = model.discriminator(Tensor(real)), model.discriminator(fake)
        self.measure_discriminator(meter, float(self.discriminator_loss(
            real_logits, fake_logits, training=False).item()), real_logits.data,
            fake_logits.data)
        self.measure_generator(meter, float(self.generator_loss(fake_logits).item()), len(real))
        features = math.prod(real.shape[1:])
        if features <= self.FRECHET_MAX_FEATURES:
            for name, samples in (("real", real), ("fake", fake.data)):
                flat = samples.reshape(len(samples), -1).astype(np.float64)
                meter.add_array(f"{name}_sum", flat.sum(axis=0))
                meter.add_array(f"{name}_outer", flat.T @ flat)
            meter.add("samples", 0, len(real))

    def result(self, meter):
        metrics = {name: meter.mean(name) for name in ("loss_d", "loss_g", "d_accuracy")
                   if meter.mean(name) is not None}
        n = meter.counts.get("samples", 0)
        if n > 1 and "real_sum" in meter.arrays:
            metrics["frechet_distance"] = frechet_distance(
                *(_gaussian(meter.arrays[f"{name}_sum"], meter.arrays[f"{name}_outer"], n)
                  for name in ("real", "fake")))
        return metrics


def _gaussian(total: np.ndarray, outer: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, unbiased covariance) from the sum and the sum of outer products of n samples."""
    mean = total / n
    return mean, (outer - n * np.outer(mean, mean)) / (n - 1)


def frechet_distance(first: tuple[np.ndarray, np.ndarray],
                     second: tuple[np.ndarray, np.ndarray]) -> float:
    """The Fréchet (2-Wasserstein) distance between two Gaussians given as (mean, covariance).

    ``tr((C1 C2)^½)`` is computed as ``tr((C1^½ C2 C1^½)^½)``, a symmetric matrix's square root
    by eigendecomposition (negative rounding noise in the eigenvalues clipped to 0).
    """
    (mean1, cov1), (mean2, cov2) = first, second
    values, vectors = np.linalg.eigh(cov1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    cross = float(np.sqrt(np.clip(middle, 0, None)).sum())
    return float(((mean1 - mean2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * cross)
