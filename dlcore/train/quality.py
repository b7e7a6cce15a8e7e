"""How good a generative model's images are, judged by a classifier this project trained:
the classifier score (:func:`dlcore.metrics.classifier_score`, Inception-Score style) of n
generated images beside the same score of n real test images (``dl eval RUN --classifier``).

The generated images are pixels in [0, 1]; they reach the classifier through its own test-time
preprocessing (resize, standardisation: what its run's data applies), as real images do.
"""
from __future__ import annotations

import numpy as np

from dlcore.metrics import classifier_score
from dlcore.nn import functional as F
from dlcore.tensor import Tensor, no_grad

from . import components, sampling
from .errors import ConfigError
from .predict import LoadedRun

BATCH = 500  # images per classifier call


def _probabilities(classifier: LoadedRun, prepare, pixels: np.ndarray) -> np.ndarray:
    rows = []
    with no_grad():
        for start in range(0, len(pixels), BATCH):
            batch = pixels[start:start + BATCH]
            logits = classifier.model(Tensor(prepare(batch) if prepare else batch))
            rows.append(F.softmax(logits, dim=1).data)
    return np.concatenate(rows)


def classifier_scores(loaded: LoadedRun, classifier: LoadedRun, n: int = 5000,
                      seed: int = 0) -> dict:
    """{"classifier_score" of n images drawn from ``loaded``'s model (codes from ``seed``),
    "real_classifier_score" of n test images of its data, "score_ratio" of the two,
    "classifier" (its checkpoint), "score_images": n}."""
    task = sampling.image_task(loaded.task, "sample")
    if classifier.task.name != "classification":
        raise ConfigError(f"--classifier needs a classifier's run; that run's task is "
                          f"{classifier.task.name}")
    if n < 2:
        raise ValueError(f"the classifier score needs at least 2 images, got {n}")
    experiment = classifier.experiment
    prepare = components.build_dataset(
        experiment, experiment.data["test_split"]).for_evaluation().transform
    test = components.build_dataset(loaded.experiment,
                                    loaded.experiment.data["test_split"]).for_evaluation()
    rng = np.random.default_rng(seed)
    real = task.pixels(test.get_batch(np.sort(rng.choice(len(test), min(n, len(test)),
                                                         replace=False)))[0])
    fake = np.concatenate([task.generate(loaded.model, min(BATCH, n - start), rng)
                           for start in range(0, n, BATCH)])
    if fake.shape[1:] != real.shape[1:]:
        raise ConfigError(f"the model makes images of shape {fake.shape[1:]}, its data's are "
                          f"{real.shape[1:]}")
    scores = {}
    for name, pixels in (("classifier_score", fake), ("real_classifier_score", real)):
        try:
            scores[name] = classifier_score(_probabilities(classifier, prepare, pixels))
        except ValueError as error:
            raise ConfigError(f"the classifier cannot read these images ({error})") from None
    return {**scores, "score_ratio": scores["classifier_score"] / scores["real_classifier_score"],
            "classifier": str(classifier.checkpoint), "score_images": n}
