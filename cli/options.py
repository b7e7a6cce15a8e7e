"""Options every command that needs them spells the same way: `--threads N` (kernel threads)
and `--json` (the command's result as JSON on stdout, and nothing else there)."""
import json

import click

from dlcore import kernels


def _set_threads(ctx, param, value):
    if value is not None:
        kernels.set_num_threads(value)
    return value


threads = click.option(
    "--threads", type=click.IntRange(min=1), callback=_set_threads,
    help="Kernel threads [default: DL_NUM_THREADS, else every core].")

checkpoint = click.option("--checkpoint", "which", type=click.Choice(["best", "last"]),
                          default="best", show_default=True,
                          help="Which of the run's checkpoints to use.")

as_json = click.option("--json", "as_json", is_flag=True,
                       help="Print the result as JSON on stdout instead of a table.")


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2))
