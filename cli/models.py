"""`dl models`: the model zoo, with each model's task, hyper-parameters, example configs and
their parameter counts, and the layers and parameter count of one model."""
from importlib.resources import as_file as resources_path

import click
from rich.console import Console
from rich.table import Column, Table

from dlcore.models import MODELS, get_model, model_entry
from dlcore.nn.utils import parameter_summary
from dlcore.train import load
from dlcore.train.components import missing_data, model_of

from . import options
from .examples import _examples


@click.command()
@click.argument("name", required=False)
@click.option("--summary", is_flag=True,
              help="Build NAME with its default options; list its layers and parameters.")
@options.as_json
def models(name, summary, as_json):
    """List the models `[model] name = ...` accepts, with their options and defaults.

    \\b
      dl models
      dl models lenet --summary
      dl models --json
    """
    if summary:
        return _summary(name, as_json)
    chosen = {name: _entry(name)} if name else dict(sorted(MODELS.items()))
    examples = _example_models(chosen)
    if as_json:
        options.echo_json({key: {"task": entry.task, "options": entry.options(),
                                 "description": entry.description, "examples": examples[key]}
                           for key, entry in chosen.items()})
        return
    table = Table(Column("model", no_wrap=True), "task", "options (defaults)",
                  "example configs (parameters)", "description")
    for key, entry in chosen.items():
        defaults = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
        shown = "\n".join(f"{example} ({'-' if count is None else f'{count:,}'})"
                           for example, count in examples[key].items())
        table.add_row(key, entry.task, defaults, shown, entry.description)
    Console().print(table)
    if any(None in found.values() for found in examples.values()):
        click.echo("-: the example's dataset is not fetched yet (dl data fetch NAME), so its "
                   "model's size is not known")


def _example_models(chosen) -> dict[str, dict[str, int | None]]:
    """model -> {example config: parameters of the model it trains (None: data not fetched)}."""
    found = {key: {} for key in chosen}
    for example, file in _examples().items():
        with resources_path(file) as path:
            experiment = load(path)
        key = experiment.model["name"]
        if key in found:
            found[key][example] = (None if missing_data(experiment) else
                                   sum(p.data.size for p in model_of(experiment).parameters()))
    return found


def _entry(name):
    try:
        return model_entry(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None


def _summary(name, as_json):
    if not name:
        raise click.UsageError("--summary needs a model NAME, e.g. dl models lenet --summary")
    _entry(name)
    try:
        rows = parameter_summary(get_model(name))
    except (TypeError, ValueError) as error:
        raise click.ClickException(f"{name} cannot be built from its defaults alone ({error}); "
                                   "its data sets those options when it trains") from None
    total = sum(row["parameters"] for row in rows)
    if as_json:
        options.echo_json({"model": name, "parameters": total, "layers": rows})
        return
    table = Table("layer", "type", "parameter shapes", "parameters",
                  title=f"{name} with its default options")
    for row in rows:
        shapes = ", ".join(f"{key} {'x'.join(map(str, shape))}"
                           for key, shape in row["shapes"].items())
        table.add_row(row["name"], row["layer"], shapes, f"{row['parameters']:,}")
    table.add_row("total", "", "", f"{total:,}")
    Console().print(table)
