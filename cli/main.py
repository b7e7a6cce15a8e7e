"""`dl`: the entry point. Each command lives in its own module; this file only assembles them."""
import click

import dlcore
from dlcore import kernels

from .bench import bench
from .data import data
from .examples import examples
from .generate import generate, translate
from .info import info
from .models import models
from .predict import export, predict
from .runs import list_runs, plot
from .sample import sample
from .sweep import sweep
from .train import evaluate, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(dlcore.__version__, prog_name="dl")
def cli():
    """dlcore's experiment runner: train, evaluate, predict, generate, translate, sample,
    sweep, list and plot runs, export, benchmark."""
    try:
        kernels.check_environment()
    except ValueError as error:
        raise click.ClickException(str(error)) from None


for command in (train, evaluate, predict, generate, translate, sample, sweep, list_runs, plot,
                export, bench, data, models, examples, info):
    cli.add_command(command)


def main():
    cli(prog_name="dl")


if __name__ == "__main__":  # python -m dlcore.cli.main
    main()
