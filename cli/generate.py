"""`dl generate` and `dl translate`: text from trained sequence models. No maths here."""
import click

from dlcore.data import DatasetNotFoundError
from dlcore.train import CheckpointError, ConfigError
from dlcore.train import generate as generating
from dlcore.train import predict as predicting

from . import options


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--prompt", default="\n", show_default="a new line",
              help="The text to continue (tokenised as the run's data was).")
@click.option("--length", type=click.IntRange(min=1), default=200, show_default=True,
              help="How many tokens to generate.")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Sharpens (< 1) or flattens (> 1) the distribution; 0 is greedy.")
@click.option("--top-k", type=click.IntRange(min=0), default=0, show_default=True,
              help="Sample only among the k most probable tokens (0: all).")
@click.option("--beam", type=click.IntRange(min=0), default=0, show_default=True,
              help="Beam search with this many beams instead of sampling (0: sample).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the sampling [default: a fresh one each time].")
@options.checkpoint
@options.threads
@options.as_json
def generate(run, prompt, length, temperature, top_k, beam, seed, which, threads, as_json):
    """Continue PROMPT with the language model of RUN (a run directory or checkpoint file).

    \b
      dl generate runs/char_lstm2-20261207-090000 --prompt "In the beginning" --length 200 \\
          --temperature 0.8 --seed 1
      dl generate runs/char_lstm2-20261207-090000 --prompt "And God said" --beam 5
    """
    try:
        result = generating.generate(predicting.load_run(run, which), prompt, length,
                                     temperature, top_k, beam, seed)
    except (ConfigError, CheckpointError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(result)
        return
    click.echo(result["full"])


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.argument("sentences", nargs=-1, required=True)
@click.option("--beam", type=click.IntRange(min=0), default=0, show_default=True,
              help="Beam search with this many beams (0: greedy).")
@options.checkpoint
@options.threads
@options.as_json
def translate(run, sentences, beam, which, threads, as_json):
    """Translate SENTENCES with the encoder-decoder of RUN (needs the run's training data,
    whose vocabularies it rebuilds).

    \b
      dl translate runs/seq2seq_attention-20261207-100000 \\
          "in the beginning god created the heaven and the earth" --beam 5
    """
    try:
        results = generating.translate(predicting.load_run(run, which), list(sentences), beam)
    except (ConfigError, CheckpointError, DatasetNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(results)
        return
    for result in results:
        click.echo(result["translation"])
