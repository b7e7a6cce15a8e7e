"""From a run to use: load_run, predict from .npy / images / prompts, export to safetensors."""
import numpy as np
import pytest

from dlcore.train import run
from dlcore.train.export import export
from dlcore.train.predict import load_run, predict, read_inputs


def test_predict_from_npy_matches_the_model_and_names_each_sample(tmp_path, experiment):
    run(experiment(train={"epochs": 2}), run_dir=tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    points = np.array([[0.1, 0.2], [-0.5, 0.3], [0.9, -0.9]], dtype=np.float32)
    np.save(tmp_path / "batch.npy", points)
    np.save(tmp_path / "one.npy", points[0])
    batch, names = read_inputs(loaded, [str(tmp_path / "batch.npy"), str(tmp_path / "one.npy")])
    assert names == [f"{tmp_path}/batch.npy[{i}]" for i in range(3)] + [f"{tmp_path}/one.npy"]
    results = predict(loaded, batch, top_k=2)
    logits = loaded.model(__import__("dlcore").tensor(batch)).data
    for result, row in zip(results, logits):
        assert [t["id"] for t in result["top"]] == list(np.argsort(-row)[:2])
        assert sum(t["probability"] for t in result["top"]) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ValueError, match=r"fits neither one sample \[2\]"):
        np.save(tmp_path / "bad.npy", np.zeros((2, 3), np.float32))
        read_inputs(loaded, [str(tmp_path / "bad.npy")])


def test_images_are_preprocessed_like_the_training_data(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    from dlcore.train.predict import LoadedRun, _read_image

    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(pixels).save(tmp_path / "x.png")
    metadata = {"input_shape": [1, 8, 8], "normalize": {"mean": [0.5], "std": [0.25]}}
    expected = (pixels / 255.0 - 0.5) / 0.25
    np.testing.assert_allclose(_read_image(tmp_path / "x.png", metadata)[0], expected,
                               atol=1e-5)
    assert LoadedRun  # the type read_inputs takes


def test_export_writes_safetensors_pytorch_can_load(tmp_path, experiment):
    safetensors = pytest.importorskip("safetensors.numpy")
    run(experiment(train={"epochs": 1}), run_dir=tmp_path / "run")
    loaded = load_run(tmp_path / "run", "last")
    path = export(loaded, tmp_path / "model.safetensors")
    tensors = safetensors.load_file(str(path))
    state = loaded.model.state_dict()
    assert set(tensors) == set(state)
    for name, value in state.items():
        np.testing.assert_array_equal(tensors[name], value)
    with pytest.raises(ValueError, match="export: format must be one of 'safetensors', 'onnx'"):
        export(loaded, tmp_path / "m.pt", "torchscript")
