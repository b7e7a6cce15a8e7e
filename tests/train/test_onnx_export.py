"""ONNX export checked by onnxruntime: the exported graph computes what the model computes."""
import json

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.models import get_model
from dlcore.train import run
from dlcore.train.export import export
from dlcore.train.onnx_export import to_onnx
from dlcore.train.predict import load_run

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def outputs_agree(model, shape, batch=3, atol=1e-5):
    model.eval()
    session = ort.InferenceSession(to_onnx(model, shape))
    x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
    theirs = session.run(None, {"input": x})[0]
    ours = model(dlcore.from_numpy(x)).numpy()
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("name, options, shape", [
    ("lenet", {}, (1, 28, 28)), ("lenet", {"activation": "sigmoid", "pool": "avg"}, (1, 28, 28)),
    ("mlp", {"in_features": 784}, (1, 28, 28)), ("mlp", {"in_features": 2, "num_classes": 3},
                                                  (2,))])
def test_zoo_models_export_and_run_the_same(name, options, shape):
    dlcore.manual_seed(0)
    outputs_agree(get_model(name, **options), shape)


@pytest.mark.parametrize("batch", [1, 7])
def test_odd_layers_and_shapes_export_and_run_the_same(batch):
    dlcore.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding="same", bias=False), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
        nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        nn.Sequential(nn.Conv2d(4, 6, (3, 1), stride=2, groups=2, padding=(1, 0)), nn.Tanh()),
        nn.MaxPool2d(2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Sigmoid())
    model(dlcore.randn(8, 3, 9, 7))                      # running statistics move off 0 / 1
    model.eval()
    session = ort.InferenceSession(to_onnx(model, (3, 9, 7)))
    x = np.random.default_rng(2).standard_normal((batch, 3, 9, 7)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0],
                               model(dlcore.from_numpy(x)).numpy(), atol=1e-5, rtol=1e-5)


def test_unsupported_layers_are_named():
    model = nn.Sequential(nn.Linear(4, 4), nn.GRU(4, 4))
    with pytest.raises(ValueError, match=r"layer 1 is a GRU, which it cannot write yet; it "
                                         r"writes Sequential models of .*Conv2d"):
        to_onnx(model, (4,))
    with pytest.raises(ValueError, match="Flatten\\(start_dim=1, end_dim=-1\\) only"):
        to_onnx(nn.Sequential(nn.Flatten(2)), (2, 3, 4))


def test_a_trained_run_exports_to_onnx(tmp_path, experiment):
    run(experiment(train={"epochs": 1}), run_dir=tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    path = export(loaded, tmp_path / "model.onnx", "onnx")
    session = ort.InferenceSession(str(path))
    props = session.get_modelmeta().custom_metadata_map
    assert props["model"] == "mlp" and json.loads(props["metadata"]) == loaded.metadata
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0],
                               loaded.model(dlcore.from_numpy(x)).numpy(), atol=1e-5)
