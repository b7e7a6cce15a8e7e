"""The CLI speaks one language: --json prints JSON on stdout and nothing else there, --threads
sets the kernel threads wherever a command computes, every command's help shows examples,
and the example configs ship with the package (`dl examples`)."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlcore import kernels
from dlcore.cli.main import cli

EXAMPLES = Path(__file__).parents[2] / "examples"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("command", [["models"], ["data", "list"], ["examples"], ["info"]])
def test_json_is_the_whole_of_stdout(command):
    result = invoke(*command, "--json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), dict)


def test_models_and_datasets_as_json_say_what_the_tables_say():
    models = json.loads(invoke("models", "--json").stdout)
    assert models["lenet"]["task"] == "classification" and "activation" in models["lenet"]["options"]
    datasets = json.loads(invoke("data", "list", "--json").stdout)
    assert datasets["two-spirals"]["status"] == "generated"


def test_models_name_each_models_examples_and_the_size_they_build():
    models = json.loads(invoke("models", "--json").stdout)
    assert models["linear_regression"]["examples"] == {"synthetic/linear": 3}
    for family in ("softmax_regression", "mlp", "lenet", "lenet_classic", "lenet_bn", "alexnet",
                   "vgg11", "nin", "googlenet", "resnet18", "densenet"):
        assert f"fashion_mnist/{family}" in models[family]["examples"], family
    if models["lenet"]["examples"]["fashion_mnist/lenet"] is not None:  # data fetched
        assert models["lenet"]["examples"]["fashion_mnist/lenet"] == 61_706
    assert models["vgg16"]["examples"] == {}


@pytest.mark.parametrize("command", ["train", "eval", "predict", "export", "bench", "data",
                                     "models", "examples"])
def test_every_command_help_shows_how_to_call_it_in_80_columns(command):
    help_text = invoke(command, "--help").output
    assert f"dl {command} " in help_text or f"dl {command}\n" in help_text, help_text
    assert all(len(line) <= 80 for line in help_text.splitlines()), help_text


def test_train_help_lists_optimizers_and_schedules():
    help_text = invoke("train", "--help").output
    assert "adamw" in help_text and "onecycle" in help_text
    assert all(len(line) <= 80 for line in help_text.splitlines()), help_text


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_commands_that_compute_take_threads(tmp_path, command):
    run_dir = tmp_path / "run"
    assert invoke("train", EXAMPLES / "synthetic" / "spirals.toml", "--out", run_dir,
                  "--progress", "none", "--set", "train.epochs=1").exit_code == 0
    before = kernels.get_num_threads()
    try:
        kernels.set_num_threads(2)
        args = [run_dir] if command == "eval" else [run_dir, tmp_path / "x.npy"]
        if command == "predict":
            import numpy as np
            np.save(tmp_path / "x.npy", np.zeros((1, 2), np.float32))
        result = invoke(command, *args, "--threads", "1")
        assert result.exit_code == 0, result.output
        assert kernels.get_num_threads() == 1
        assert invoke(command, *args, "--threads", "0").exit_code == 2
    finally:
        kernels.set_num_threads(before)


def test_examples_list_and_copy_every_shipped_config(tmp_path):
    listed = json.loads(invoke("examples", "--json").stdout)
    assert set(listed) == {f"{p.parent.name}/{p.stem}" for p in EXAMPLES.glob("*/*.toml")}
    assert ">= 90% test accuracy" in listed["fashion_mnist/lenet"]
    result = invoke("examples", "synthetic/spirals", "--copy", tmp_path / "cfg")
    copied = tmp_path / "cfg" / "synthetic" / "spirals.toml"
    assert result.exit_code == 0 and copied.read_text() == \
        (EXAMPLES / "synthetic" / "spirals.toml").read_text()
    again = invoke("examples", "synthetic/spirals", "--copy", tmp_path / "cfg")
    assert again.exit_code == 1 and "already exists; nothing copied" in again.output
    unknown = invoke("examples", "nope")
    assert unknown.exit_code == 2 and "no example nope" in unknown.output


def test_models_summary_lists_layers_and_the_parameter_count():
    from dlcore.models import get_model
    summary = json.loads(invoke("models", "lenet", "--summary", "--json").stdout)
    assert summary["parameters"] == 61_706 == sum(p.numpy().size for p in
                                                  get_model("lenet").parameters())
    assert [row["layer"] for row in summary["layers"]] == ["Conv2d", "Conv2d", "Linear",
                                                           "Linear", "Linear"]
    assert summary["layers"][0]["shapes"] == {"weight": [6, 1, 5, 5], "bias": [6]}
    table = invoke("models", "lenet", "--summary").output
    assert "61,706" in table and "weight 6x1x5x5" in table
    assert invoke("models", "--summary").exit_code == 2
    assert invoke("models", "nope").exit_code == 2
