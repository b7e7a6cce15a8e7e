"""`dl info`: what this installation is and what it runs on."""
import importlib.util
import platform

import click
from rich.console import Console
from rich.table import Table

import dlcore
from dlcore import kernels

from . import options

OPTIONAL = ("torch", "matplotlib", "ray")


def collect() -> dict:
    """The facts `dl info` shows, as plain data."""
    from dlcore.data import data_dir

    facts = {
        "version": dlcore.__version__,
        "python": platform.python_version(),
        "numpy": __import__("numpy").__version__,
        **kernels.build_info(),
        "data_dir": str(data_dir()),
        "optional": {name: importlib.util.find_spec(name) is not None for name in OPTIONAL},
    }
    return facts


@click.command()
@options.as_json
def info(as_json):
    """Version, build, CPU features, kernel path, threads, data directory, optional packages."""
    facts = collect()
    if as_json:
        options.echo_json(facts)
        return
    table = Table(show_header=False, box=None)
    rows = [
        ("dlcore", facts["version"]),
        ("python / numpy", f"{facts['python']} / {facts['numpy']}"),
        ("build", f"{facts['compiler']}, OpenMP {'yes' if facts['openmp'] else 'NO (serial)'}"),
        ("CPU features", " ".join(facts["cpu_features"]) or "-"),
        ("kernel path", f"{facts['cpu_path']} (best on this CPU: {facts['cpu_best']})"),
        ("backend", facts["backend"]),
        ("threads", str(facts["threads"])),
        ("data directory", facts["data_dir"]),
        ("optional", ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in
                               facts["optional"].items())),
    ]
    for key, value in rows:
        table.add_row(f"[bold]{key}[/]", value)
    Console().print(table)
