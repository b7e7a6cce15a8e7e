"""`dl sweep`: a grid or random search over a config's options, each trial an ordinary run.
No maths here."""
import os
import sys
from pathlib import Path

import click

from dlcore import data
from dlcore.train import ConfigError
from dlcore.train import sweep as sweeping

from . import options


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--grid", multiple=True, metavar="SECTION.KEY=V1,V2,…",
              help="An axis of the grid (values typed as TOML); repeatable: the product.")
@click.option("--random", "random", type=click.IntRange(min=1), default=None,
              help="Random search: draw N points of the --space (per grid point).")
@click.option("--space", multiple=True, metavar="SECTION.KEY=DIST:…",
              help="uniform:a:b, loguniform:a:b, randint:a:b or choice:v1,v2; repeatable.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the random draws [default: the [sweep] table's, else 0].")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config value in every trial; repeatable.")
@click.option("--metric", default=None,
              help="val.<name> (best evaluation) or test.<name> [default: val.<task monitor>].")
@click.option("--mode", type=click.Choice(["min", "max"]), default=None,
              help="Whether more or less of the metric is better [default: the task's].")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials at a time, each in its own process.")
@click.option("--threads-per-trial", type=click.IntRange(min=1), default=None,
              help="Kernel threads of each trial [default: cores / workers].")
@click.option("--executor", type=click.Choice(sweeping.EXECUTORS), default="local",
              show_default=True, help="local: a process pool here; ray: Ray tasks on a "
              "cluster (pip install \"dlcore[ray]\").")
@click.option("--early-stop", type=click.Choice(["asha"]), default=None,
              help="With --executor ray: Ray Tune's ASHA stops trials whose metric trails "
                   "at an evaluation.")
@click.option("--address", default=None,
              help="The Ray cluster to use (e.g. ray://head:10001) [default: start a local one].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="The sweep's folder [default: runs/<config name>-sweep]; the same command "
                   "again goes on where it stopped.")
@options.as_json
def sweep(config, grid, random, space, seed, overrides, metric, mode, workers,
          threads_per_trial, executor, early_stop, address, out, as_json):
    """Train CONFIG once per point of a grid or of a random search, WORKERS trials at a time;
    each trial is a run directory in the sweep's folder (dl eval and dl train --resume work
    on it), with sweep.jsonl listing every trial's result. A [sweep] table in CONFIG can hold
    the grid, space, random, seed, metric and mode.

    \b
      dl sweep examples/fashion_mnist/mlp.toml --grid optim.lr=0.001,0.003,0.01 \\
          --grid model.hidden=[128],[256] --workers 2 --threads-per-trial 1
      dl sweep examples/fashion_mnist/mlp.toml --random 8 \\
          --space optim.lr=loguniform:1e-4:1e-2 --space model.dropout=uniform:0:0.5
      dl sweep examples/fashion_mnist/mlp.toml --grid optim.lr=0.001,0.01 --executor ray
      dl sweep examples/fashion_mnist/mlp.toml --random 16 \\
          --space optim.lr=loguniform:1e-5:1e-1 --executor ray --early-stop asha
    """
    threads = threads_per_trial or max(1, (os.cpu_count() or 1) // workers)
    try:
        spec = sweeping.build_spec(config, grid, space, random, seed, overrides, metric, mode)
        out = Path(out or Path("runs") / f"{Path(config).stem}-sweep")
        report = (lambda record: None) if as_json else _line
        records = sweeping.run_sweep(spec, out, workers, threads, report, executor, address,
                                     early_stop)
    except sweeping.SweepInterrupted as stop:
        click.echo(str(stop), err=True)
        sys.exit(130)
    except (ConfigError, data.DatasetNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json({"out": str(out), "metric": spec.metric, "mode": spec.mode,
                           "trials": records})
        return
    _table(records, spec, out)


def _line(record: dict) -> None:
    value = record.get("value")
    shown = "-" if value is None else f"{value:.4g}"
    click.echo(f"{record['name']} {record['status']:<11} {shown:>8}  "
               f"{' '.join(record['overrides'])}" + (f"  ({record['error']})"
                                                     if record.get("error") else ""))


def _table(records: list, spec, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{out}: {len(records)} trials by {spec.metric} "
                        f"({'higher' if spec.mode == 'max' else 'lower'} is better)")
    for column in ("#", "trial", "overrides", spec.metric, "status", "wall"):
        table.add_column(column, justify="right" if column in ("#", "wall") else "left")
    for rank, record in enumerate(records, 1):
        value = record.get("value")
        table.add_row(str(rank), record["name"], " ".join(record["overrides"]),
                      "-" if value is None else f"{value:.4g}",
                      record["status"] + (f": {record['error']}" if record.get("error") else ""),
                      f"{record['wall_seconds']:.1f}s" if "wall_seconds" in record else "-")
    Console().print(table)
