"""`dl sample`: image grids from trained generative models. No maths here."""
import click

from dlcore.data import DatasetNotFoundError
from dlcore.train import CheckpointError, ConfigError
from dlcore.train import predict as predicting
from dlcore.train import sampling

from . import options


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The PNG file to write (replaced if it exists).")
@click.option("--n", type=click.IntRange(min=1, max=4096), default=64, show_default=True,
              help="How many images (for --interpolate: ⌈n / steps⌉ rows).")
@click.option("--reconstruct", "mode", flag_value="reconstruct",
              help="Test images above, the model's reconstructions below (autoencoder, VAE).")
@click.option("--interpolate", "mode", flag_value="interpolate",
              help="Rows walking the code space from one test image to another "
                   "(autoencoder, VAE).")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True,
              help="Images per --interpolate row.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the codes and of the test images picked [default: a fresh one].")
@options.checkpoint
@options.threads
@options.as_json
def sample(run, out, n, mode, steps, seed, which, threads, as_json):
    """Write a grid of images made by the generative model of RUN to --out: new samples
    (VAE, GAN), or with --reconstruct / --interpolate an autoencoder's view of test images.

    \b
      dl sample runs/dcgan-20261207-120000 --n 64 --out grid.png --seed 0
      dl sample runs/vae-20261207-120000 --reconstruct --out recon.png
      dl sample runs/vae-20261207-120000 --interpolate --n 50 --out walk.png
    """
    try:
        result = sampling.sample(predicting.load_run(run, which), out, n, mode or "sample",
                                 seed, steps)
    except (ConfigError, CheckpointError, DatasetNotFoundError, ValueError,
            FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        options.echo_json(result)
        return
    click.echo(f"wrote {result['images']} images, {result['columns']} per row, to "
               f"{result['out']}")
