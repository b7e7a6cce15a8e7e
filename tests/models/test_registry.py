"""The model zoo: every registered model builds, maps its input shape to its output shape."""
import numpy as np
import pytest

import dlcore
from dlcore import models, nn


def count(model):
    return sum(p.data.size for p in model.parameters())


@pytest.mark.parametrize("name, hparams, input_shape, output_shape", [
    ("linear_regression", {"in_features": 3}, (5, 3), (5, 1)),
    ("softmax_regression", {}, (4, 1, 28, 28), (4, 10)),
    ("mlp", {"hidden": [16, 8], "dropout": 0.5, "batch_norm": True}, (4, 1, 28, 28), (4, 10)),
    ("mlp", {"in_features": 2, "num_classes": 2}, (6, 2), (6, 2)),
    ("lenet", {}, (2, 1, 28, 28), (2, 10)),
    ("lenet", {"activation": "sigmoid", "pool": "avg", "num_classes": 4}, (2, 1, 28, 28),
     (2, 4)),
])
def test_models_map_inputs_to_outputs(name, hparams, input_shape, output_shape):
    model = models.get_model(name, **hparams)
    assert model(dlcore.randn(*input_shape)).shape == output_shape


def test_lenet_is_d2l_lenet5():
    """conv 6@5x5 pad 2, conv 16@5x5, FC 400-120-84-10: 61,706 parameters."""
    model = models.get_model("lenet")
    assert count(model) == 61_706
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(6, 1, 5, 5), (16, 6, 5, 5)]


def test_mlp_layers_follow_the_options():
    model = models.get_model("mlp", hidden=[32], dropout=0.25, batch_norm=True,
                             activation="tanh")
    kinds = [type(m).__name__ for m in model.children()]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    assert count(models.get_model("mlp")) == 784 * 256 + 256 + 256 * 10 + 10


def test_every_model_declares_a_task_and_describes_itself():
    assert set(models.MODELS) >= {"mlp", "lenet", "softmax_regression", "linear_regression"}
    for entry in models.MODELS.values():
        assert entry.task and entry.description  # tests/train/test_tasks.py: a known task
    assert models.model_entry("mlp").options()["dropout"] == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: models.get_model("resnet-1000"), "unknown model 'resnet-1000'; known: "),
    (lambda: models.get_model("lenet", activation="swish"), "activation must be one of 'relu'"),
    (lambda: models.get_model("lenet", pool="median"), "lenet: pool must be one of 'max', 'avg'"),
    (lambda: models.get_model("mlp", hidden=[]), "mlp: hidden must be a non-empty list"),
    (lambda: models.register("mlp", "classification")(lambda: None), "already exists"),
    (lambda: models.register("x", ""), "task must be a task name"),
])
def test_bad_requests_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_same_seed_same_initial_weights():
    dlcore.manual_seed(3)
    first = models.get_model("lenet").state_dict()
    dlcore.manual_seed(3)
    second = models.get_model("lenet").state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_rnn_language_model_predicts_every_next_token(cell):
    model = models.get_model("rnn_lm", vocab_size=11, embedding_dim=4, hidden_size=8,
                             num_layers=2, cell=cell)
    tokens = dlcore.tensor(np.random.default_rng(0).integers(0, 11, (3, 5)))
    assert model(tokens).shape == (3, 5, 11)
    assert models.model_entry("rnn_lm").task == "language_model"
    with pytest.raises(ValueError, match="cell must be one of"):
        models.get_model("rnn_lm", cell="transformer")
