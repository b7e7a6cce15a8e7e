"""`dl models`: the model zoo, with each model's task and hyper-parameters."""
import click
from rich.console import Console
from rich.table import Table

from dlcore.models import MODELS


@click.command()
def models():
    """List the models `[model] name = ...` accepts, with their options and defaults."""
    table = Table("model", "task", "options (defaults)", "description")
    for name, entry in sorted(MODELS.items()):
        options = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
        table.add_row(name, entry.task, options, entry.description)
    Console().print(table)
