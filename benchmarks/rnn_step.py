"""Training step of language models, dlcore vs PyTorch CPU, same builder, by length.

    python benchmarks/rnn_step.py [--cells lstm,gru] [--layers 1,2] [--lengths 16,64,256]
                                  [--threads 1,2] [--batch 32] [--hidden 256] [--seconds 2]
                                  [--json [FILE]]
    python benchmarks/rnn_step.py --cells gpt --layers 4 --lengths 64,128 --hidden 128

The model is the zoo's ``rnn_lm`` (embedding, recurrent stack, linear head over the KJV's
67 characters), or with ``--cells gpt`` its GPT (``--layers`` blocks of width ``--hidden``,
4 heads, block size = the length), built once from ``dlcore.nn`` and once from
``torch.nn``; a step is forward,
cross-entropy over every position, backward (through time, the whole window) and an SGD
update, on fixed random tokens. Timing and threads are ``dl bench``'s: both frameworks on the
same thread count, timed in alternating rounds, medians compared. Besides the ratio (PyTorch's
time over ours, > 1: dlcore is faster) it prints the cost per time step, which for a layer
linear in the length stays flat as the window grows.
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
from dlcore.models import get_model
from examples_table import cpu_name  # this folder's script
from zoo_step import _ints, _torch_version

RESULTS = Path(__file__).parents[1] / "benchmarks" / "results"
ROUNDS = 5
VOCAB = 67


def _step(library, name: str, options: dict, tokens: np.ndarray, targets: np.ndarray):
    """A zero-argument training step of ``library`` (dlcore or torch: the same API) on the
    fixed tokens, its model from the zoo's builder ``name``."""
    model = get_model(name, nn=library.nn, **options)
    optimizer = library.optim.SGD(model.parameters(), lr=0.01)
    x, y = library.from_numpy(tokens), library.from_numpy(targets.reshape(-1))

    def step():
        optimizer.zero_grad()
        library.nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y).backward()
        optimizer.step()
    return step


def measure(torch, cell: str, layers: int, length: int, batch: int, hidden: int,
            threads: int, seconds: float) -> dict:
    if cell == "gpt":
        name, options = "gpt", dict(vocab_size=VOCAB, block_size=length, d_model=hidden,
                                    num_heads=4, num_layers=layers, dropout=0.1)
    else:
        name, options = "rnn_lm", dict(vocab_size=VOCAB, embedding_dim=32, hidden_size=hidden,
                                       num_layers=layers, cell=cell)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, VOCAB, (batch, length))
    targets = rng.integers(0, VOCAB, (batch, length))
    runners = {"dlcore": _step(dlcore, name, options, tokens, targets)}
    if torch is not None:
        runners["torch"] = _step(torch, name, options, tokens, targets)
    medians = bench.interleaved_medians(runners, budget=seconds, rounds=ROUNDS, min_calls=ROUNDS,
                                        max_calls=100 * ROUNDS)
    ours, theirs = medians["dlcore"], medians.get("torch")
    return {"cell": cell, "layers": layers, "length": length, "batch": batch, "hidden": hidden,
            "threads": threads, "dlcore_ms": ours * 1e3, "torch_ms": theirs and theirs * 1e3,
            "ratio": theirs and theirs / ours}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="lstm", help="comma-separated: rnn, lstm, gru, gpt")
    parser.add_argument("--layers", type=_ints, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--lengths", type=_ints, default=[16, 64, 256], help="e.g. 16,64,256")
    parser.add_argument("--threads", type=_ints, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="timing budget per case and side (at least one step a round)")
    parser.add_argument("--json", nargs="?", const=str(RESULTS / "rnn_step.json"),
                        metavar="FILE", help="also write the rows as JSON "
                        "(default file: benchmarks/results/rnn_step.json)")
    args = parser.parse_args()
    cells = [c for c in args.cells.split(",") if c]
    if not cells or set(cells) - {"rnn", "lstm", "gru", "gpt"} or args.seconds <= 0 \
            or args.batch < 1 or args.hidden < 1:
        parser.error("--cells takes rnn, lstm, gru, gpt; --seconds, --batch and --hidden must "
                     "be > 0")
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing dlcore alone", file=sys.stderr)
    print(f"language-model training step, batch {args.batch}, width {args.hidden}, dlcore vs "
          f"PyTorch "
          f"(kernel path {kernels.cpu_path()}, {cpu_name()}); median of {ROUNDS} alternating "
          f"rounds, {args.seconds:g} s per side")
    print(f"{'cell':5} {'layers':>6} {'T':>4} {'thr':>3} {'dlcore ms':>10} {'ms/step':>8} "
          f"{'torch ms':>9} {'ms/step':>8} {'torch/dlcore':>12}")
    rows = []
    for threads in args.threads:
        with bench.same_threads(threads, torch):
            for cell in cells:
                for layers in args.layers:
                    for length in args.lengths:
                        r = measure(torch, cell, layers, length, args.batch, args.hidden,
                                    threads, args.seconds)
                        rows.append(r)
                        theirs = (f"{r['torch_ms']:9.2f} {r['torch_ms'] / length:8.3f} "
                                  f"{r['ratio']:12.2f}" if r["torch_ms"] else "")
                        print(f"{cell:5} {layers:6} {length:4} {threads:3} "
                              f"{r['dlcore_ms']:10.2f} {r['dlcore_ms'] / length:8.3f} {theirs}",
                              flush=True)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"cpu": cpu_name(), "cpu_path": kernels.cpu_path(),
                                    "torch": _torch_version(), "rows": rows}, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
