"""`dl predict` and `dl export`: use a trained run. No maths here."""
import click

from dlcore.train import CheckpointError, ConfigError
from dlcore.train import export as exporting
from dlcore.train import predict as predicting

from . import options


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many classes (or next tokens) to show per input.")
@options.checkpoint
@options.threads
@options.as_json
def predict(run, inputs, top_k, which, threads, as_json):
    """Predict with the model of RUN (a run directory or checkpoint file) on INPUTS.

    INPUTS are .npy arrays (one sample, or a batch), image files (need Pillow) or, for a
    language model, text prompts. Examples:

    \b
      dl predict runs/lenet-20261206-101500 shirt.png boot.png --top-k 3
      dl predict runs/lenet-20261206-101500 batch.npy --json
      dl predict runs/char_lstm-20261206-101500 "in the beginning"
    """
    try:
        loaded = predicting.load_run(run, which)
        batch, names = predicting.read_inputs(loaded, list(inputs))
        results = predicting.predict(loaded, batch, top_k)
    except (ConfigError, CheckpointError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json([{"input": name, **result} for name, result in zip(names, results)])
        return
    for name, result in zip(names, results):
        if "top" in result:
            shown = ", ".join(f"{t['name'] if t['name'] is not None else t['id']!r} "
                              f"{100 * t['probability']:.1f}%" for t in result["top"])
        else:
            shown = ", ".join(f"{v:.6g}" for v in result["value"])
        click.echo(f"{name}: {shown}")


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(exporting.FORMATS), default="safetensors",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="The file to write.")
@options.checkpoint
def export(run, fmt, out, which):
    """Write the model of RUN to a file other tools load: safetensors (PyTorch's names) or
    ONNX (the eval-mode graph of a layered model, for onnxruntime and the like). Examples:

    \b
      dl export runs/lenet-20261206-101500 --out lenet.safetensors
      dl export runs/lenet-20261206-101500 --format onnx --out lenet.onnx
    """
    try:
        path = exporting.export(predicting.load_run(run, which), out, fmt)
    except (ConfigError, CheckpointError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {path}")
