"""dlcore.save / dlcore.load (state dicts, no pickle) and dlcore.load_run (a trained run)."""
from pathlib import Path

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.serialization import CheckpointError
from dlcore.train import run

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_a_state_dict_saved_and_loaded_rebuilds_the_same_model(tmp_path):
    dlcore.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model(dlcore.randn(5, 3))                      # move the running statistics
    dlcore.save(model.state_dict(), tmp_path / "model.npz")
    twin = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    twin.load_state_dict(dlcore.load(tmp_path / "model.npz"))
    x = dlcore.randn(2, 3)
    model.eval(), twin.eval()
    np.testing.assert_array_equal(model(x).numpy(), twin(x).numpy())
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:   # plain .npz
        assert "0.weight" in archive.files and "1.running_mean" in archive.files


def test_trees_of_tensors_numbers_and_strings_round_trip(tmp_path):
    tree = {"w": dlcore.ones(2), "step": 3, "name": "x", "nested": {"a": np.arange(3)},
            "list": [1.5, None]}
    dlcore.save(tree, tmp_path / "t.npz")
    back = dlcore.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back["w"], np.ones(2, np.float32))
    np.testing.assert_array_equal(back["nested"]["a"], np.arange(3))
    assert (back["step"], back["name"], back["list"]) == (3, "x", [1.5, None])


def test_bad_input_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="save expects a dict such as a state_dict, got list"):
        dlcore.save([1, 2], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="save: cannot store object at 'a'"):
        dlcore.save({"a": object()}, tmp_path / "x.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable dlcore checkpoint"):
        dlcore.load(tmp_path / "junk.npz")
    with pytest.raises(CheckpointError, match="does not exist"):
        dlcore.load(tmp_path / "absent.npz")


def test_load_run_gives_the_trained_model_in_eval_mode_and_its_config(tmp_path):
    summary = run(EXAMPLES / "synthetic" / "spirals.toml", run_dir=tmp_path / "run")
    model, config = dlcore.load_run(tmp_path / "run")
    assert not model.training and config.model["name"] == "mlp"
    assert config.train["epochs"] == summary["epochs"]
    best = dlcore.load(tmp_path / "run" / "checkpoints" / "best.npz")["model"]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, best[key])
    last, _ = dlcore.load_run(tmp_path / "run", which="last")
    assert last.state_dict().keys() == model.state_dict().keys()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        dlcore.load_run(tmp_path)
