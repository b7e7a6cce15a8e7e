"""One DCGAN training step (discriminator, then generator), dlcore vs PyTorch CPU, same builders.

    python benchmarks/gan_step.py [--threads 1,2] [--batch 64] [--seconds 3] [--json [FILE]]

The generator and discriminator of ``examples/generative/dcgan.toml`` are built once from
``dlcore.nn`` and once from ``torch.nn`` by the zoo's builders (``dcgan_generator``,
``dcgan_discriminator``). A step is what the adversarial updater does: the discriminator's
BCE-with-logits on a real batch and as many generated images, backward, Adam; then the
generator's non-saturating loss through the updated (frozen) discriminator, backward, Adam.
Timing and threads are `dl bench`'s: both sides and NumPy's BLAS on one thread count,
alternating rounds, medians; the ratio is PyTorch's step time over ours (> 1: dlcore is
faster).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import dlcore
from dlcore import kernels
from dlcore.kernels import bench
from dlcore.models.gan import dcgan_discriminator, dcgan_generator
from dlcore.train import load
from examples_table import cpu_name  # this folder's script
from zoo_step import _ints, _torch_version

ROOT = Path(__file__).parents[1]
ROUNDS = 5


def _step(nn, functional, optim, tensor, latent, width, real, z, ones, zeros):
    """A zero-argument DCGAN step in one framework (``nn``, ``functional``, ``optim`` its
    modules, ``tensor`` its array constructor)."""
    generator, discriminator = dcgan_generator(latent, width, 1, nn=nn), dcgan_discriminator(
        1, width, nn=nn)
    opt_g = optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real, z, ones, zeros = tensor(real), tensor(z), tensor(ones), tensor(zeros)
    bce = functional.binary_cross_entropy_with_logits

    def step():
        fake = generator(z)
        opt_d.zero_grad()
        loss_d = (bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)) * 0.5
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        discriminator.requires_grad_(False)  # as the updater does: no use for D's gradients
        bce(discriminator(fake), ones).backward()
        discriminator.requires_grad_(True)
        opt_g.step()
    return step


def measure(torch, batch: int, threads: int, seconds: float) -> dict:
    model = load(ROOT / "examples" / "generative" / "dcgan.toml").model
    latent, width = model["latent_dim"], model["width"]
    rng = np.random.default_rng(0)
    arrays = (np.tanh(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)),
              rng.standard_normal((batch, latent, 1, 1), dtype=np.float32),
              np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32))
    runners = {"dlcore": _step(dlcore.nn, dlcore.nn.functional, dlcore.optim, dlcore.tensor,
                               latent, width, *arrays)}
    if torch is not None:
        runners["torch"] = _step(torch.nn, torch.nn.functional, torch.optim, torch.from_numpy,
                                 latent, width, *arrays)
    medians = bench.interleaved_medians(runners, budget=seconds, rounds=ROUNDS,
                                        min_calls=ROUNDS, max_calls=100 * ROUNDS)
    ours, theirs = medians["dlcore"], medians.get("torch")
    return {"model": "dcgan", "batch": batch, "threads": threads, "dlcore_ms": ours * 1e3,
            "torch_ms": theirs and theirs * 1e3, "ratio": theirs and theirs / ours}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=_ints, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--batch", type=_ints, default=[64], help="e.g. 64,128")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per side")
    parser.add_argument("--json", nargs="?", const=str(ROOT / "benchmarks" / "results"
                                                       / "gan_step.json"), metavar="FILE")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing dlcore alone", file=sys.stderr)
    print(f"DCGAN training step, dlcore vs PyTorch, same builders (kernel path "
          f"{kernels.cpu_path()}, {cpu_name()})")
    print(f"{'batch':>5} {'thr':>3} {'dlcore ms':>10} {'torch ms':>9} {'torch/dlcore':>12}")
    rows = []
    for threads in args.threads:
        with bench.same_threads(threads, torch):
            for batch in args.batch:
                r = measure(torch, batch, threads, args.seconds)
                rows.append(r)
                theirs = (f"{r['torch_ms']:9.2f} {r['ratio']:12.2f}" if r["torch_ms"]
                          else f"{'-':>9} {'-':>12}")
                print(f"{batch:5} {threads:3} {r['dlcore_ms']:10.2f} {theirs}", flush=True)
    if args.json:
        path = Path(args.json)
        path.write_text(json.dumps({"cpu": cpu_name(), "cpu_path": kernels.cpu_path(),
                                    "torch": _torch_version(), "rows": rows}, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
