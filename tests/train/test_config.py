"""Configs are checked completely before any work starts, and errors say what is allowed."""
import os
from pathlib import Path

import pytest

from dlcore.data import registry as data_registry
from dlcore.train import ConfigError, Experiment, load, parse
from dlcore.train.config import apply_overrides

from .conftest import spirals


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_filled_in_from_fields_and_component_signatures():
    experiment = parse(spirals())
    assert experiment.train["eval_every"] == "1 epoch"
    assert experiment.schedule == {"model": {"name": "none", "interval": "epoch"}}
    assert experiment.model["dropout"] == 0.0  # the mlp builder's default
    assert experiment.optim["model"]["betas"] == [0.9, 0.999]  # Adam's, as TOML holds it
    assert experiment.task == {"name": "classification"}  # the mlp's task
    assert experiment.train["monitor"] == "accuracy" and experiment.train["clip_grad_norm"] == 0


def test_unknown_key_names_it_and_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown key train\.epoch \(did you mean 'epochs'\?\)"):
        parse(spirals(train={"epoch": 3}))


def test_unknown_component_option_lists_what_the_component_accepts():
    with pytest.raises(ConfigError, match=r"model\.dropuot \(did you mean 'dropout'\?\).*"
                                          r"with name = 'mlp' accepts: name, in_features"):
        parse(spirals(model={"dropuot": 0.5}))


def test_unknown_section_and_component_names():
    with pytest.raises(ConfigError, match=r"unknown section \[optimizer\].*did you mean 'optim'"):
        parse({**spirals(), "optimizer": {}})
    with pytest.raises(ConfigError, match=r"optim.name = 'adamm' is unknown \(did you mean "
                                          r"'adam'\?\); choose one of: sgd, adam"):
        parse(spirals(optim={"name": "adamm"}))


@pytest.mark.parametrize("section, key, value, message", [
    ("train", "epochs", 2.5, r"train\.epochs must be an integer, got 2\.5 \(a number\)"),
    ("train", "epochs", True, r"train\.epochs must be an integer, got True"),
    ("data", "shuffle", "yes", r"data\.shuffle must be true or false, got \"yes\""),
    ("optim", "lr", "fast", r"optim\.lr must be a number, got \"fast\" \(a string\)"),
    ("model", "hidden", 32, r"model\.hidden must be a list, got 32"),
    ("train", "seed", {"a": 1}, r"train\.seed must be a single value"),
])
def test_wrong_types_name_key_value_and_expected_type(section, key, value, message):
    with pytest.raises(ConfigError, match=message):
        parse(spirals(**{section: {key: value}}))


@pytest.mark.parametrize("section, key, value, message", [
    ("train", "epochs", 0, r"train\.epochs must be >= 1, got 0"),
    ("data", "batch_size", -4, r"data\.batch_size must be >= 1, got -4"),
    ("schedule", "interval", "batch", r"schedule\.interval must be \"epoch\" or \"step\""),
    ("train", "clip_grad_norm", -1.0, r"train\.clip_grad_norm must be >= 0"),
])
def test_bad_values_say_what_is_allowed(section, key, value, message):
    with pytest.raises(ConfigError, match=message):
        parse(spirals(**{section: {key: value}}))


def test_an_int_is_a_valid_float_and_becomes_one():
    assert parse(spirals(optim={"lr": 1})).optim["model"]["lr"] == 1.0
    assert isinstance(parse(spirals(optim={"lr": 1})).optim["model"]["lr"], float)


def test_required_component_options():
    with pytest.raises(ConfigError, match=r"schedule\.T_max is required when schedule\.name = "
                                          r"'cosine'"):
        parse(spirals(schedule={"name": "cosine"}))
    with pytest.raises(ConfigError, match=r"model\.name is required"):
        parse({"data": {"name": "two-spirals"}})


def test_set_overrides_are_typed_as_toml_and_bare_words_are_strings():
    raw = apply_overrides(spirals(), ["train.epochs=7", "optim.lr=0.5", "data.shuffle=false",
                                      "model.hidden=[8, 4]", "optim.name=sgd",
                                      'model.activation="tanh"', "schedule.name=step"])
    assert raw["train"]["epochs"] == 7 and raw["optim"]["lr"] == 0.5
    assert raw["data"]["shuffle"] is False and raw["model"]["hidden"] == [8, 4]
    assert raw["optim"]["name"] == "sgd" and raw["model"]["activation"] == "tanh"
    assert raw["schedule"] == {"name": "step"}
    with pytest.raises(ConfigError, match=r"train\.epochs must be an integer, got \"many\""):
        parse(apply_overrides(spirals(), ["train.epochs=many"]))


@pytest.mark.parametrize("override", ["epochs=3", "train.epochs", "train.=3",
                                      "optim.generator..lr=1", "optim.a.b.c=1"])
def test_malformed_set_is_refused(override):
    with pytest.raises(ConfigError, match="--set expects section.key=value"):
        apply_overrides(spirals(), [override])


def test_set_into_an_unknown_section_suggests_one():
    with pytest.raises(ConfigError, match=r"unknown section \[trian\].*did you mean 'train'"):
        apply_overrides(spirals(), ["trian.epochs=1"])


def test_load_reads_toml_and_names_the_experiment_after_the_file(tmp_path):
    path = write(tmp_path, '[model]\nname = "mlp"\n[data]\nname = "two-spirals"\n')
    experiment = load(path, ["train.epochs=2"])
    assert experiment.name == "exp" and experiment.train["epochs"] == 2


def test_load_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(write(tmp_path, "[model\nname = 1"))


def test_resolved_toml_reads_back_to_the_same_experiment():
    experiment = parse(spirals(schedule={"name": "step", "step_size": 2}), name="x")
    again = parse(__import__("tomllib").loads(experiment.to_toml()), name="x")
    assert again == experiment


def test_diff_lists_changed_keys():
    old, new = parse(spirals()), parse(spirals(train={"epochs": 5}, optim={"lr": 0.1}))
    assert old.diff(new) == ["optim.lr: 0.01 -> 0.1", "train.epochs: 3 -> 5"]
    assert old.diff(parse(spirals())) == []


def test_path_options_resolve_against_the_config_folder(tmp_path, monkeypatch):
    """The process never changes directory: a relative path means the config file's folder."""
    def from_folder(split: str = "train", root: str | os.PathLike = "."):
        raise AssertionError("validation must not build the dataset")

    entry = data_registry.DatasetEntry("from-folder", from_folder, "test data", "none")
    monkeypatch.setitem(data_registry.DATASETS, "from-folder", entry)
    (tmp_path / "configs").mkdir()
    path = write(tmp_path / "configs", '[model]\nname = "mlp"\n'
                                       '[data]\nname = "from-folder"\nroot = "../images"\n')
    assert load(path).data["root"] == str((tmp_path / "images").resolve())


def test_experiment_is_immutable():
    with pytest.raises(AttributeError):
        parse(spirals()).name = "other"
    assert isinstance(parse(spirals()), Experiment)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "examples").rglob("*.toml")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_example_config_is_valid(path):
    assert load(path).name == path.stem


def gan(**sections) -> dict:
    raw = {"model": {"name": "gaussian_gan"}, "data": {"name": "gaussian-2d", "batch_size": 8},
           "optim": {"name": "adam", "generator": {"lr": 0.005},
                     "discriminator": {"lr": 0.05}}}
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


def test_each_role_gets_a_table_inheriting_the_shared_keys():
    experiment = parse(gan())
    assert experiment.roles == ("generator", "discriminator")
    assert experiment.optim["generator"]["name"] == experiment.optim["discriminator"]["name"] \
        == "adam"
    assert (experiment.optim["generator"]["lr"], experiment.optim["discriminator"]["lr"]) == \
        (0.005, 0.05)
    assert experiment.schedule["generator"] == {"name": "none", "interval": "epoch"}
    assert experiment.task["name"] == "adversarial"
    assert experiment.train["n_critic"] == 1 and experiment.train["monitor"] == \
        "frechet_distance"
    text = experiment.to_toml()
    assert "[optim.generator]" in text and "\n[optim]\n" not in text
    assert parse(__import__("tomllib").loads(text)) == experiment


def test_role_tables_are_checked_with_did_you_mean():
    raw = gan()
    raw["optim"]["generatr"] = raw["optim"].pop("generator")
    with pytest.raises(ConfigError, match=r"unknown table \[optim\.generatr\] \(did you mean "
                                          r"'generator'\?\); this experiment's optimizers are: "
                                          r"generator, discriminator"):
        parse(raw)
    with pytest.raises(ConfigError, match=r"unknown key optim\.discriminator\.lrr \(did you "
                                          r"mean 'lr'\?\)"):
        parse(gan(optim={"discriminator": {"lrr": 0.1}}))
    with pytest.raises(ConfigError, match=r"\[optim\.generator\]: this experiment trains one "
                                          r"model with one optimizer"):
        parse(spirals(optim={"generator": {"lr": 0.1}}))
    with pytest.raises(ConfigError, match=r"unknown key train\.n_critic"):
        parse(spirals(train={"n_critic": 2}))
    with pytest.raises(ConfigError, match=r"train\.n_critic must be an integer >= 1"):
        parse(gan(train={"n_critic": 0}))


def test_set_reaches_a_role_table_and_diff_names_it():
    base = parse(gan())
    changed = parse(apply_overrides(gan(), ["optim.generator.lr=0.001", "train.n_critic=5"]))
    assert changed.optim["generator"]["lr"] == 0.001 and changed.optim["discriminator"]["lr"] \
        == 0.05
    assert base.diff(changed) == ["optim.generator.lr: 0.005 -> 0.001",
                                  "train.n_critic: 1 -> 5"]


@pytest.mark.parametrize("key, value, resolved", [
    ("eval_every", 2, "2 epochs"), ("eval_every", "500 steps", "500 steps"),
    ("log_every", "1 step", "1 step"), ("checkpoint_every", "10 minutes", "10 minutes"),
    ("checkpoint_every", " 3epochs ", "3 epochs")])
def test_triggers_are_normalised(key, value, resolved):
    assert parse(spirals(train={key: value})).train[key] == resolved


@pytest.mark.parametrize("key, value, message", [
    ("eval_every", "10 minutes", r"train\.eval_every must count epochs or steps \(only "
                                 r"checkpoints may be timed\)"),
    ("log_every", 0, r"train\.log_every must be a positive number of epochs or steps"),
    ("checkpoint_every", "often", r"train\.checkpoint_every must be a positive number of "
                                  r"epochs, steps, minutes or seconds"),
    ("eval_every", True, r"train\.eval_every must be a positive number")])
def test_bad_triggers_say_what_is_accepted(key, value, message):
    with pytest.raises(ConfigError, match=message):
        parse(spirals(train={key: value}))


def test_monitor_must_be_a_metric_of_the_task():
    assert parse(spirals(train={"monitor": "loss"})).train["monitor"] == "loss"
    with pytest.raises(ConfigError, match=r"train\.monitor = 'acuracy' is not a metric of the "
                                          r"classification task \(did you mean 'accuracy'\?\)"):
        parse(spirals(train={"monitor": "acuracy"}))


def test_task_options_and_unknown_tasks():
    assert parse(gan(task={"label_smoothing": 0.1})).task["label_smoothing"] == 0.1
    with pytest.raises(ConfigError, match=r"task\.name = 'clasification' is unknown \(did you "
                                          r"mean 'classification'\?\)"):
        parse(spirals(task={"name": "clasification"}))


def test_options_the_data_determines_stay_unset_until_the_data_is_known():
    from dlcore.train import components

    raw = spirals()
    del raw["model"]["in_features"], raw["model"]["num_classes"]
    experiment = parse(raw)
    assert "num_classes" not in experiment.model and "in_features" not in experiment.model
    resolved = components.resolve_data(experiment, {"input_shape": [2], "num_classes": 2})
    assert (resolved.model["in_features"], resolved.model["num_classes"]) == (2, 2)
    assert components.resolve_data(experiment, {}).model["num_classes"] == 10  # the default
    assert components.resolve_data(resolved, {"input_shape": [2], "num_classes": 2}) == resolved
    with pytest.raises(ConfigError, match=r"model\.num_classes = 3 but the data \(two-spirals\) "
                                          r"has num_classes = 2; remove model\.num_classes"):
        components.resolve_data(parse(spirals(model={"num_classes": 3})),
                                {"input_shape": [2], "num_classes": 2})


SCHEDULED = """
[model]
name = "mlp"
[data]
name = "two-spirals"
[optim]
name = "sgd"
lr = 0.1
[schedule]
name = "{name}"
interval = "{interval}"
{horizon}
[train]
epochs = 10
"""


@pytest.mark.parametrize("name, horizon, interval, set_too, expected, note", [
    ("cosine", "T_max = 10", "epoch", (), 25, "schedule.T_max follows train.epochs: 10 -> 25"),
    ("linear", "total_iters = 10", "epoch", (), 25,
     "schedule.total_iters follows train.epochs: 10 -> 25"),
    ("cosine", "T_max = 7", "epoch", (), 7, None),             # not tied to the epochs
    ("cosine", "T_max = 10", "step", (), 10, None),            # steps, not epochs
    ("cosine", "T_max = 10", "epoch", ("schedule.T_max=12",), 12, None),   # the user says
])
def test_a_schedule_horizon_tied_to_the_epochs_follows_an_epochs_override(
        tmp_path, name, horizon, interval, set_too, expected, note):
    path = tmp_path / "sched.toml"
    path.write_text(SCHEDULED.format(name=name, horizon=horizon, interval=interval))
    experiment = load(path, ["train.epochs=25", *set_too])
    key = horizon.split()[0]
    assert experiment.schedule["model"][key] == expected
    assert experiment.notes == ((note,) if note else ())
    assert load(path).notes == ()
    assert experiment == load(path, ["train.epochs=25", f"schedule.{key}={expected}"])
