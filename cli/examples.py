"""`dl examples`: the example configs shipped with dlcore, listed or copied out to edit."""
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import options


def _examples() -> dict:
    """name (``fashion_mnist/lenet``) -> the shipped file, in name order."""
    root = resources.files("dlcore.examples")
    return {f"{folder.name}/{file.name.removesuffix('.toml')}": file
            for folder in sorted(root.iterdir(), key=lambda f: f.name) if folder.is_dir()
            for file in sorted(folder.iterdir(), key=lambda f: f.name)
            if file.name.endswith(".toml")}


def _summary(text: str) -> str:
    """A config's leading comment: what it trains and what it reaches."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--copy", "folder", type=click.Path(file_okay=False),
              help="Copy the named examples (all, when none is named) into this folder.")
@options.as_json
def examples(names, folder, as_json):
    """List the example configs, or copy them out to edit and run.

    \\b
      dl examples
      dl examples fashion_mnist/lenet --copy my-configs
      dl train my-configs/fashion_mnist/lenet.toml
    """
    shipped = _examples()
    unknown = [name for name in names if name not in shipped]
    if unknown:
        raise click.BadParameter(f"no example {', '.join(unknown)}; examples: "
                                 f"{', '.join(shipped)}", param_hint="NAMES")
    chosen = {name: shipped[name] for name in (names or shipped)}
    if folder is None:
        if as_json:
            options.echo_json({name: _summary(file.read_text()) for name, file in chosen.items()})
            return
        table = Table("example", "what it trains")
        for name, file in chosen.items():
            table.add_row(name, _summary(file.read_text()))
        Console().print(table)
        click.echo("Run one: dl examples NAME --copy DIR, then dl train DIR/NAME.toml")
        return
    targets = {name: Path(folder) / f"{name}.toml" for name in chosen}
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing:
        raise click.ClickException(f"{', '.join(existing)} already exist"
                                   f"{'s' * (len(existing) == 1)}; nothing copied (choose "
                                   "another folder, or remove them)")
    for name, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(chosen[name].read_text())
        click.echo(f"wrote {path}")
