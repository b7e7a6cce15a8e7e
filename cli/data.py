"""`dl data`: which datasets exist, where their files are, and fetching the missing ones."""
import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from dlcore.data import DATASETS, FetchError, dataset_entry, fetch_dataset

from . import options


def _entry(name):
    try:
        return dataset_entry(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from error


def _status(entry):
    if not entry.resources:
        return "[cyan]generated[/]"
    return "[yellow]missing[/]" if entry.missing() else "[green]present[/]"


@click.group()
def data():
    """Datasets: what is here, where, under which licence; fetch what is missing.

    \b
      dl data list
      dl data info fashion-mnist
      dl data fetch fashion-mnist
    """


@data.command("list")
@options.as_json
def list_datasets(as_json):
    """Every dataset with its status and licence.

    \b
      dl data list
      dl data list --json
    """
    if as_json:
        options.echo_json({entry.name: {
            "status": "generated" if not entry.resources else
            "missing" if entry.missing() else "present",
            "description": entry.description, "licence": entry.licence,
            "options": entry.options()} for entry in DATASETS.values()})
        return
    table = Table(title="datasets")
    for column in ("name", "status", "description", "licence"):
        table.add_column(column)
    for entry in DATASETS.values():
        table.add_row(entry.name, _status(entry), entry.description, entry.licence)
    console = Console()
    console.print(table)
    console.print("Missing data: `dl data fetch NAME`; details: `dl data info NAME`.")


@data.command()
@click.argument("name")
def info(name):
    """Description, licence, options and file locations of dataset NAME."""
    entry = _entry(name)
    console = Console()
    console.print(f"[bold]{entry.name}[/]: {entry.description}")
    console.print(f"licence: {entry.licence}")
    console.print(f"status: {_status(entry)}")
    options = ", ".join(f"{key}={value!r}" for key, value in entry.options().items())
    console.print(f"options: {options or 'none'} (split: 'train' or 'test')")
    for resource in entry.resources:
        folder = resource.locate()
        console.print(f"[bold]{resource.name}[/] files: {folder or '[yellow]not found[/]'}")
        table = Table()
        table.add_column("file")
        table.add_column("size", justify="right")
        for file in resource.files:
            size = (folder / file).stat().st_size if folder else None
            table.add_row(file, f"{size:,} B" if size is not None else "-")
        console.print(table)
        if folder is None:
            console.print("searched: " + ", ".join(map(str, resource.search_path())))
            if resource.urls or resource.debian_package:
                console.print(f"get it with: dl data fetch {entry.name}")


@data.command()
@click.argument("name")
def fetch(name):
    """Get dataset NAME: upstream first, then Debian's archive; checksums verified."""
    entry = _entry(name)
    console = Console()
    if not entry.resources:
        console.print(f"{name} is generated from a seed: nothing to fetch")
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks = {}

        def report(description, done, total):
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        try:
            folders = fetch_dataset(name, report)
        except FetchError as error:
            raise click.ClickException(str(error)) from error
    for folder in folders:
        console.print(f"[green]ready[/] {folder}")
