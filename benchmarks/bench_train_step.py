"""A full training step (forward, cross-entropy, backward, SGD update) in dlcore vs PyTorch CPU.

    python benchmarks/bench_train_step.py [--threads N] [--steps 200] [--json [FILE]]

Models: an MLP 784-256-10 and LeNet-5 (conv 5x5 pad 2, pool, conv 5x5, pool, 120-84-10), batch
64, both built by the zoo's builder (given `dlcore.nn` or `torch.nn`) so the two frameworks do
the same work. Timing and threads
are `dl bench`'s (`dlcore.kernels.bench`): both frameworks and NumPy's BLAS on the same threads,
the steps timed in alternating rounds (ours, PyTorch, ours, …) so a load change on a shared
machine hits both sides alike; we report the median step. PyTorch runs only when importable.
The ratio is PyTorch's step time over ours: > 1 means dlcore takes more steps per second.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

import dlcore
from dlcore import kernels
from dlcore.kernels import bench
from dlcore.models import get_model

BATCH = 64
ROUNDS = 5
RESULTS = Path(__file__).parent / "results"


def zoo(name: str, **options):
    """The zoo's builder of ``name``, for either namespace: one description, two frameworks."""
    return lambda nn: get_model(name, nn=nn, **options)


MODELS = {"mlp 784-256-10": (zoo("mlp"), (BATCH, 784)),
          "lenet-5": (zoo("lenet"), (BATCH, 1, 28, 28))}


def dlcore_step(build, x, y):
    """A zero-argument training step of dlcore on the fixed batch (x, y)."""
    import dlcore.nn.functional as F
    model = build(dlcore.nn)
    optimizer = dlcore.optim.SGD(model.parameters(), lr=0.01)
    inputs, targets = dlcore.tensor(x), dlcore.tensor(y)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return step


def torch_step(torch, build, x, y):
    """The same step in PyTorch."""
    model = build(torch.nn)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both frameworks")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per model and side")
    parser.add_argument("--json", nargs="?", const=str(RESULTS / "train_step.json"),
                        metavar="FILE", help="also write the results as JSON "
                        "(default file: benchmarks/results/train_step.json)")
    args = parser.parse_args()
    if args.threads < 1 or args.steps < 1:
        parser.error(f"--threads and --steps must be >= 1, got {args.threads}, {args.steps}")
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing dlcore alone", file=sys.stderr)
    with bench.same_threads(args.threads, torch) as blas:
        rows = measure_models(torch, args.threads, args.steps, blas)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {path}")


def measure_models(torch, threads: int, steps: int, blas: str) -> list[dict]:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 10, BATCH)
    rows = []
    print(f"training step, batch {BATCH}, {threads} thread(s) ({kernels.cpu_path()}; NumPy's "
          f"BLAS: {blas}); median of {steps} steps")
    print(f"{'model':16} {'dlcore µs':>10} {'steps/s':>8} {'torch µs':>10} {'steps/s':>8} "
          f"{'torch/dlcore':>12}")
    for name, (build, shape) in MODELS.items():
        inputs = rng.standard_normal(shape, dtype=np.float32)
        runners = {"dlcore": dlcore_step(build, inputs, targets)}
        if torch is not None:
            runners["torch"] = torch_step(torch, build, inputs, targets)
        seconds = bench.interleaved_medians(runners, budget=0.0, rounds=ROUNDS,
                                            min_calls=steps, max_calls=steps)
        ours, theirs = seconds["dlcore"], seconds.get("torch")
        ratio = theirs / ours if theirs else None
        rows.append({"model": name, "batch": BATCH, "threads": threads,
                     "dlcore_us": ours * 1e6, "torch_us": theirs and theirs * 1e6,
                     "ratio": ratio})
        torch_cells = (f"{theirs * 1e6:10.0f} {1 / theirs:8.0f} {ratio:12.2f}" if theirs
                       else f"{'-':>10} {'-':>8} {'-':>12}")
        print(f"{name:16} {ours * 1e6:10.0f} {1 / ours:8.0f} {torch_cells}")
    return rows


if __name__ == "__main__":
    main()
