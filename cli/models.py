"""`dl models`: the model zoo, with each model's task and hyper-parameters."""
import click
from rich.console import Console
from rich.table import Table

from dlcore.models import MODELS

from . import options


@click.command()
@options.as_json
def models(as_json):
    """List the models `[model] name = ...` accepts, with their options and defaults.

    \b
      dl models
      dl models --json
    """
    if as_json:
        options.echo_json({name: {"task": entry.task, "options": entry.options(),
                                  "description": entry.description}
                           for name, entry in sorted(MODELS.items())})
        return
    table = Table("model", "task", "options (defaults)", "description")
    for name, entry in sorted(MODELS.items()):
        defaults = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
        table.add_row(name, entry.task, defaults, entry.description)
    Console().print(table)
