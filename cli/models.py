"""`dl models`: the model zoo, with each model's task and hyper-parameters, and the layers and
parameter count of one model."""
import click
from rich.console import Console
from rich.table import Table

from dlcore.models import MODELS, get_model, model_entry
from dlcore.nn.utils import parameter_summary

from . import options


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
    if as_json:
        options.echo_json({key: {"task": entry.task, "options": entry.options(),
                                 "description": entry.description}
                           for key, entry in chosen.items()})
        return
    table = Table("model", "task", "options (defaults)", "description")
    for key, entry in chosen.items():
        defaults = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
        table.add_row(key, entry.task, defaults, entry.description)
    Console().print(table)


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
