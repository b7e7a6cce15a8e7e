"""`dl train` and `dl eval`: run an experiment config, evaluate a run. No maths here."""
import shlex
import textwrap
import sys
import time
from pathlib import Path

import click

from dlcore import data
from dlcore import train as training
from . import options, progress


@click.command(epilog="\b\n" + "\n".join(textwrap.fill(text, 78, subsequent_indent="  ") for text in (
    "Optimizers ([optim] name): " + ", ".join(training.components.OPTIMIZERS),
    "Schedules ([schedule] name): none, " + ", ".join(training.components.SCHEDULES),
    "Models: dl models; datasets: dl data list; example configs: dl examples")))
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config value (typed as TOML: 0.1, true, [1, 2], \"x\"); repeatable.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Run directory [default: runs/<config name>-<timestamp>].")
@click.option("--resume", type=click.Path(exists=True),
              help="Continue the run in this directory exactly where it stopped.")
@click.option("--overwrite", is_flag=True,
              help="Replace the run already in --out (its config, metrics and checkpoints).")
@click.option("--allow-config-change", is_flag=True,
              help="Resume even though CONFIG or --set changes the run's config.")
@options.threads
@click.option("--progress", "progress_mode", type=click.Choice(progress.MODES), default="auto",
              show_default=True, help="A bar needs a terminal; auto picks plain lines otherwise.")
@click.option("--log-every", type=click.IntRange(min=0), default=0,
              help="Plain progress: also a line every N steps.")
@options.as_json
def train(config, overrides, out, resume, overwrite, allow_config_change, threads, progress_mode,
          log_every, as_json):
    """Train the experiment CONFIG (a TOML file) into a run directory.

    With --resume RUN_DIR, CONFIG defaults to the run's own config.toml. Examples:

    \b
      dl train examples/fashion_mnist/lenet.toml
      dl train examples/fashion_mnist/lenet.toml --set train.epochs=2 --out r1
      dl train --resume r1 --set train.epochs=4 --allow-config-change
    """
    if config is None and resume is None:
        raise click.UsageError("give a CONFIG file, or --resume RUN_DIR")
    config = config or Path(resume) / "config.toml"
    try:
        experiment = training.load(config, overrides)
    except training.ConfigError as error:
        raise click.ClickException(str(error)) from None
    for note in experiment.notes:
        click.echo(f"note: {note}", err=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if out or resume:
        run_dir = Path(out or training.run_dir_of(resume))
    else:
        run_dir = training.unique_run_dir("runs", f"{experiment.name}-{stamp}")
    try:
        with progress.display(progress_mode, log_every) as report:
            summary = training.run(experiment, run_dir=run_dir, resume=resume, report=report,
                                   threads=threads, allow_config_change=allow_config_change,
                                   overwrite=overwrite)
    except training.RunInterrupted as stop:
        click.echo(f"{stop}\nresume with: dl train --resume {shlex.quote(str(run_dir))}",
                   err=True)
        sys.exit(stop.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C: the user would not wait for the step to end
        if training.checkpoint_path(run_dir, "last").is_file():
            click.echo(f"stopped at once; resume from the last checkpoint with: dl train "
                       f"--resume {shlex.quote(str(run_dir))}", err=True)
        else:
            click.echo(f"stopped at once, before the first checkpoint: nothing to resume; "
                       f"start again with: dl train {shlex.quote(str(config))} --out "
                       f"{shlex.quote(str(run_dir))} --overwrite", err=True)
        sys.exit(130)
    except training.NonFiniteLoss as error:
        last = training.checkpoint_path(run_dir, "last")
        kept = f"; the last good checkpoint is {last}" if last.is_file() else ""
        raise click.ClickException(f"{error}{kept}") from None
    except (training.ConfigError, training.ConfigChanged, training.CheckpointError,
            training.RunComplete, training.RunExists, training.RunLocked,
            data.DatasetNotFoundError,
            data.FetchError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(summary)
        return
    best, test = summary["best"] or {}, summary["test"]
    epochs = summary["epochs"]
    click.echo(f"{summary['status']} after {epochs} epoch{'s' * (epochs != 1)} "
               f"({summary['steps']:,} steps) in {summary['wall_seconds']:.1f}s "
               f"({summary['samples_per_s']:,.0f} samples/s)")
    if test:
        click.echo(f"{test['split']}: {progress.metrics_text(test)}")
    click.echo(f"best {best.get('split', 'eval')}: {progress.metrics_text(best)} (step "
               f"{best.get('step')})\nrun directory: {run_dir}")


@click.command("eval")
@click.argument("target", type=click.Path(exists=True))
@click.option("--data", "split", help="The split to evaluate: train, validation (the run's "
              "held-out part) or test [default: the config's test_split].")
@click.option("--classifier", type=click.Path(exists=True), default=None,
              help="A classifier's run: also score the model's generated images by it "
                   "(Inception-Score style), beside real test images.")
@click.option("--score-images", type=click.IntRange(min=2), default=5000, show_default=True,
              help="How many generated and real images --classifier scores.")
@options.threads
@options.as_json
def evaluate(target, split, classifier, score_images, threads, as_json):
    """Evaluate a run (its best checkpoint, else its last) or a checkpoint file.

    Prints loss, accuracy or perplexity and, for classifiers, the confusion matrix; writes
    them to eval.json in the run directory. Examples:

    \b
      dl eval runs/lenet-20261206-101500
      dl eval runs/lenet-20261206-101500/checkpoints/last.npz --data validation
      dl eval runs/dcgan-20261207-120000 --classifier runs/lenet-20261206-101500
    """
    try:
        result = training.evaluate_run(target, split, classifier, score_images)
    except (training.ConfigError, training.CheckpointError, data.DatasetNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(result)
        return
    _print_eval(result)


def _print_eval(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{result['checkpoint']} (epoch {result['epoch']}) on {result['split']}: "
                  f"{progress.metrics_text(result)}", soft_wrap=True)
    matrix = result.get("confusion_matrix")
    if matrix is None:
        return
    names = result.get("classes") or [""] * len(matrix)
    table = Table(title="confusion matrix: rows true, columns predicted")
    table.add_column("class")
    for index in range(len(matrix)):
        table.add_column(str(index), justify="right")
    for index, (name, row) in enumerate(zip(names, matrix)):
        table.add_row(f"{index} {name}".strip(), *(f"[bold]{n}[/bold]" if i == index else str(n)
                                                   for i, n in enumerate(row)))
    console.print(table)
