"""Each task's loss and metrics, accumulated over batches of different sizes."""
import math

import numpy as np
import pytest

import dlcore
from dlcore.train import metrics


def test_classification_weights_batches_by_size_and_counts_a_confusion_matrix():
    meter = metrics.Meter("classification", confusion=True)
    meter.update(1.0, np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]]), np.array([0, 1, 1]))
    meter.update(4.0, np.array([[0.0, 5.0]]), np.array([0]))
    assert meter.result() == {"loss": (3 * 1.0 + 4.0) / 4, "accuracy": 2 / 4}
    np.testing.assert_array_equal(meter.matrix, [[1, 1], [1, 1]])


def test_language_models_count_tokens_and_report_perplexity():
    meter = metrics.Meter("language_model")
    logits = np.zeros((2, 3, 5))
    logits[..., 1] = 1.0
    meter.update(math.log(5), logits, np.array([[1, 1, 0], [2, 1, 1]]))
    assert meter.result() == pytest.approx({"loss": math.log(5), "accuracy": 4 / 6,
                                            "perplexity": 5.0})


def test_regression_reports_only_the_loss_and_an_empty_meter_nothing():
    meter = metrics.Meter("regression")
    assert meter.result() == {}
    meter.update(0.5, np.zeros((4, 1)), np.ones((4, 1)))
    assert meter.result() == {"loss": 0.5}


def test_meter_state_round_trips():
    meter, other = metrics.Meter("classification"), metrics.Meter("classification")
    meter.update(0.25, np.eye(3), np.arange(3))
    other.load_state_dict(meter.state_dict())
    assert other.result() == meter.result()


@pytest.mark.parametrize("task, output_shape, target", [
    ("classification", (4, 3), np.array([0, 2, 1, 1])),
    ("language_model", (2, 5, 7), np.arange(10).reshape(2, 5) % 7),
    ("regression", (4, 2), np.ones((4, 2), dtype=np.float32)),
])
def test_loss_is_a_differentiable_scalar_for_each_task(task, output_shape, target):
    output = dlcore.randn(*output_shape, requires_grad=True)
    loss = metrics.loss(task, output, target)
    loss.backward()
    assert loss.shape == () and output.grad.shape == output_shape


def test_monitor_is_accuracy_for_classifiers_and_loss_otherwise():
    assert metrics.monitor("classification") == ("accuracy", "max")
    assert metrics.monitor("regression") == ("loss", "min")
