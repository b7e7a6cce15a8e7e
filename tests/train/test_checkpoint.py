"""Checkpoints: a tree of arrays and JSON in one .npz, written atomically, never pickled."""
import errno
import json
import os

import numpy as np
import pytest

from dlcore import serialization
from dlcore.train import CheckpointError
from dlcore.train import checkpoint


def tree():
    return {
        "model": {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
                  "bn.num_batches_tracked": np.array(7, dtype=np.int64)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(2)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
        "rng": {"state": {"state": 2**127 + 5, "inc": 3}},
        "best": None, "loss": float("inf"), "name": "x", "flag": True,
        "count": np.int64(4), "history": [{"kind": "train", "loss": 0.25}],
    }


def test_round_trip_keeps_arrays_bit_for_bit_and_values_as_json(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save(path, tree())
    loaded = checkpoint.load(path)
    np.testing.assert_array_equal(loaded["model"]["fc.weight"], tree()["model"]["fc.weight"])
    assert loaded["model"]["fc.weight"].dtype == np.float32
    assert loaded["model"]["bn.num_batches_tracked"].dtype == np.int64
    assert loaded["optimizer"]["state"]["0"]["step"] == 3  # JSON keys are strings
    assert loaded["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]
    assert loaded["rng"]["state"]["state"] == 2**127 + 5
    assert loaded["best"] is None and loaded["loss"] == float("inf") and loaded["count"] == 4
    assert loaded["history"] == [{"kind": "train", "loss": 0.25}]


def test_the_file_is_a_plain_npz_that_loads_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save(path, tree())
    with np.load(path, allow_pickle=False) as archive:
        assert "model/fc.weight" in archive.files
        meta = json.loads(archive["meta.json"].tobytes())
    assert meta["format"] == serialization.FORMAT and meta["version"] == serialization.VERSION


def test_objects_that_would_need_pickle_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store set at 'model/x'"):
        checkpoint.save(tmp_path / "c.npz", {"model": {"x": {1, 2}}})


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save(path, {"v": np.zeros(3)})
    before = path.read_bytes()

    def broken(file):
        file.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(CheckpointError, match=r"cannot write .*c\.npz: No space left on device; "
                                              r"the previous version is kept"):
        checkpoint.atomic_write(path, broken)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]


def test_an_unwritable_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(CheckpointError, match=r"cannot create .*file/sub"):
        checkpoint.save(tmp_path / "file" / "sub" / "c.npz", {"v": np.zeros(1)})


def test_the_written_file_gets_the_usual_permissions(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save(path, {"v": np.zeros(1)})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_every_truncation_is_a_clear_error(tmp_path):
    whole = tmp_path / "whole.npz"
    checkpoint.save(whole, tree())
    data = whole.read_bytes()
    cut = tmp_path / "cut.npz"
    for length in sorted({0, 1, 10, 100, len(data) // 3, len(data) // 2, len(data) - 100,
                          len(data) - 1}):
        cut.write_bytes(data[:length])
        with pytest.raises(CheckpointError, match="cut.npz"):
            checkpoint.load(cut)


@pytest.mark.parametrize("write, message", [
    (lambda file: file.write(b"not a checkpoint at all"), "not a readable dlcore checkpoint"),
    (lambda file: np.savez(file, weights=np.zeros(3)), r"not a dlcore checkpoint \(it has no"),
    (lambda file: np.save(file, np.zeros(3)), "single .npy array"),
    (lambda file: np.save(file, np.array([{}]), allow_pickle=True), "single .npy array"),
])
def test_foreign_files_are_refused(tmp_path, write, message):
    path = tmp_path / "foreign.npz"
    with open(path, "wb") as file:
        write(file)
    with pytest.raises(CheckpointError, match=message) as error:
        checkpoint.load(path)
    assert "pickle" not in str(error.value)       # never suggest unpickling a foreign file


def test_other_formats_and_versions_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    for meta, message in [({"format": "other"}, "not a dlcore checkpoint"),
                          ({"format": serialization.FORMAT, "version": 99},
                           "format version 99; this dlcore reads versions 1 to 2")]:
        np.savez(path, **{"meta.json": np.frombuffer(json.dumps(meta).encode(), np.uint8)})
        with pytest.raises(CheckpointError, match=message):
            checkpoint.load(path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "nothing.npz")


def _as_version_1(tree: dict) -> dict:
    """A version-2 tree of a classifier, laid out as dlcore 0.1's trainer saved it."""
    updater, trainer, meter = tree["updater"], tree["trainer"], tree["meter"]
    config = {k: v for k, v in tree["config"].items() if k != "task"}
    data = dict(config["data"])
    assert data.pop("val_fraction") == 0.0  # version 1 had no validation part
    config["data"] = {**data, "eval_split": data.pop("test_split")}
    config["train"] = {"epochs": config["train"]["epochs"], "seed": config["train"]["seed"],
                       "eval_every": 1, "patience": config["train"]["patience"],
                       "clip_grad_norm": config["train"]["clip_grad_norm"]}
    return {
        "model": tree["model"], "optimizer": updater["optimizers"]["model"],
        "scheduler": updater["schedulers"].get("model"), "loader": tree["loader"],
        "rng": tree["rng"], "meter": {"loss_sum": meter["sums"]["loss"], "items": meter["counts"]["loss"],
                            "correct": int(meter["sums"]["accuracy"])},
        "callbacks": [tree["callbacks"]["evaluation"], {}, {}],
        "trainer": {"epoch": trainer["epoch"], "global_step": updater["iteration"],
                    "samples": trainer["samples"], "train_seconds": trainer["train_seconds"],
                    "last_finite_loss": updater["last_finite"]["loss"],
                    "stop_reason": None, "history": trainer["history"]},
        "config": config, "name": tree["name"], "wall_seconds": tree["wall_seconds"],
    }


def test_a_version_1_checkpoint_is_upgraded_and_resumes(tmp_path, experiment, monkeypatch):
    from dlcore.train import RunInterrupted, checkpoint_path, run

    from .conftest import assert_same_state, stop_at

    config = experiment(schedule={"name": "step", "step_size": 1, "gamma": 0.5},
                        data={"val_fraction": 0.0})
    run(config, run_dir=tmp_path / "straight")
    with pytest.raises(RunInterrupted):
        run(config, run_dir=tmp_path / "old", report=stop_at(40))  # epoch 1's last step
    last = checkpoint_path(tmp_path / "old", "last")
    old = _as_version_1(checkpoint.load(last))
    monkeypatch.setattr(serialization, "VERSION", 1)
    checkpoint.save(last, old)
    monkeypatch.undo()
    upgraded = checkpoint.load(last)
    assert upgraded["updater"]["iteration"] == 40 and upgraded["metadata"] == {}
    run(config, run_dir=tmp_path / "old", resume=tmp_path / "old")
    assert_same_state(checkpoint.load(checkpoint_path(tmp_path / "straight", "last")),
                      checkpoint.load(last))
