"""`dl runs` and `dl plot`: the runs a folder holds, how runs differ, their curves. No maths
here: :mod:`dlcore.train.runs` reads the runs, :mod:`dlcore.train.plotting` draws."""
import json

import click
from rich.console import Console
from rich.table import Column, Table

from dlcore.train import plotting
from dlcore.train import runs as run_dirs

from . import options, progress

_STATUS_STYLE = {"completed": "green", "stopped early": "green", "running": "cyan",
                 "interrupted": "yellow", "failed": "red"}


@click.command("runs")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[DIR | RUN...]")
@click.option("--compare", is_flag=True,
              help="Compare the runs given (folders stand for the runs in them): the config "
                   "keys whose values differ, then their metrics side by side.")
@options.as_json
def list_runs(paths, compare, as_json):
    """List the runs in DIR [default: runs] and below (a sweep's trials too): model, data,
    status, best metric, epochs, wall time. With --compare, how the RUNs differ.

    \b
      dl runs
      dl runs runs/lr-sweep --json
      dl runs --compare runs/lenet-20261207-090000 runs/lenet-20261207-093000
      dl runs --compare runs/lr-sweep
    """
    if compare:
        return _compare(paths, as_json)
    found, missing = [], []
    for path in paths or ("runs",):
        try:
            found += run_dirs.find_runs(path)
        except FileNotFoundError:
            missing.append(path)
        except NotADirectoryError as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json([info.to_dict() for info in found])
        return
    if not found:
        where = ", ".join(paths or ("runs",))
        gone = len(missing) == len(paths or ("runs",))
        click.echo(f"no runs: {where} {'do' if len(missing) > 1 else 'does'} not exist" if gone
                   else f"no runs in {where}")
        click.echo("(dl train CONFIG writes a run into runs/, or where --out says)")
        return
    table = Table(Column("run", no_wrap=True), "model", Column("data", overflow="fold"),
                  Column("status", no_wrap=True), Column("best", no_wrap=True),
                  Column("epochs", justify="right"), Column("wall", justify="right"),
                  box=None, padding=(0, 1), pad_edge=False, header_style="bold underline")
    for info in found:
        style = _STATUS_STYLE.get(info.status, "")
        best = "-" if info.best_value is None else progress.metrics_text(
            {info.monitor: info.best_value})
        table.add_row(str(info.path), info.model or "-", info.dataset or "-",
                      f"[{style}]{info.status}[/{style}]" if style else info.status, best,
                      _number(info.epochs),
                      "-" if info.wall_seconds is None else progress._clock(info.wall_seconds))
    Console().print(table)


def _compare(paths, as_json):
    try:
        result = run_dirs.compare_runs(run_dirs.expand(paths))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(result)
        return
    table = Table(Column("", overflow="fold"),
                  *(Column(name, overflow="fold") for name in result["names"]),
                  title=f"{len(result['runs'])} runs: the config keys that differ")
    for key, values in result["config"].items():
        table.add_row(key, *("[dim](unset)[/dim]" if value is None else json.dumps(value)
                             for value in values))
    if not result["config"]:
        table.add_row("[dim](no config key differs)[/dim]", *[""] * len(result["runs"]))
    table.add_section()
    for label, which in (("best eval", "best"), ("test", "test")):
        table.add_row(label, *(_metrics(metrics[which]) for metrics in result["metrics"]))
    console = Console()
    console.print(table)
    for name, path in zip(result["names"], result["runs"]):
        if name != path:
            console.print(f"{name}: {path}", highlight=False, soft_wrap=True)


def _metrics(record) -> str:
    """One metric a line (columns stay narrow), then the step it was measured at."""
    if not record:
        return "-"
    lines = [progress.metrics_text({key: value}) for key, value in record.items()]
    return "\n".join([line for line in lines if line] + [f"step {record.get('step', '?')}"])


def _number(value) -> str:
    return "-" if value is None else f"{value:,}"


@click.command()
@click.argument("targets", nargs=-1, required=True, type=click.Path(exists=True),
                metavar="RUN_OR_DIR...")
@click.option("--metric", default="loss", show_default=True,
              help="The metric to plot (loss, accuracy, perplexity, loss_d, lr, ...).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The image to write; its suffix picks the format (.png, .pdf, .svg).")
@click.option("--log-y", is_flag=True, help="A logarithmic y axis.")
@options.as_json
def plot(targets, metric, out, log_y, as_json):
    """Plot a metric against the step for each run (training solid, evaluation dashed); a
    folder that is not a run (a sweep, runs/) stands for the runs in it. Needs matplotlib:
    pip install "dlcore[plot]".

    \b
      dl plot runs/lenet-20261207-090000 --metric accuracy --out acc.png
      dl plot runs/lr-sweep --metric loss --log-y --out sweep.png
    """
    try:
        paths = run_dirs.expand(targets)
        plotted = plotting.plot_curves(paths, metric, out, log_y=log_y,
                                       skip_missing=len(paths) > 1)
    except (ValueError, plotting.PlotUnavailable) as error:  # CheckpointError: a ValueError
        raise click.ClickException(str(error)) from None
    skipped = [str(path) for path in paths if path not in plotted]
    if as_json:
        options.echo_json({"out": str(out), "metric": metric,
                           "runs": [str(path) for path in plotted], "skipped": skipped})
        return
    click.echo(f"wrote {metric} of {len(plotted)} run{'s' * (len(plotted) != 1)} to {out}"
               + (f" (no {metric} in {', '.join(skipped)})" if skipped else ""))
