"""One training step of every vision example's model, dlcore vs PyTorch CPU, same builder.

    python benchmarks/zoo_step.py [--threads 1,2] [--batch 32,128] [--only resnet,vgg]
                                  [--seconds 2] [--json [FILE]] [--readme]
    python benchmarks/zoo_step.py --render    # README's table from the saved results

Each model is built exactly as its example config builds it (``examples/fashion_mnist/*.toml``:
the model options, and the input size the config's data gives), once from ``dlcore.nn`` and
once from ``torch.nn`` by the same zoo builder, so both frameworks do the same work. A step is
forward, cross-entropy, backward and an SGD update on a fixed random batch. Timing and threads
are `dl bench`'s (`dlcore.kernels.bench`): both frameworks and NumPy's BLAS on the same thread
count, the sides timed in alternating rounds so a load change hits both alike, medians
compared. The ratio is PyTorch's step time over ours: > 1 means dlcore takes more steps per
second. PyTorch runs only when importable.
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
from dlcore.train import load
from dlcore.train.components import resolve_data
from examples_table import cpu_name, write_readme_block  # this folder's script

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROUNDS = 5
#: The examples whose models are timed, in the README table's order.
EXAMPLES = ["mlp", "lenet", "lenet_classic", "lenet_bn", "alexnet", "vgg11", "nin",
            "googlenet", "resnet18", "densenet"]


def _input_shape(data: dict) -> tuple[int, ...]:
    """The per-example input shape the config's Fashion-MNIST options give (no data read)."""
    size = data.get("resize") or 28
    return (1, size, size)


def example_model(example: str):
    """``(build(nn), input shape)`` of ``examples/fashion_mnist/<example>.toml``'s model."""
    experiment = load(ROOT / "examples" / "fashion_mnist" / f"{example}.toml")
    shape = _input_shape(experiment.data)
    experiment = resolve_data(experiment, {"input_shape": list(shape), "num_classes": 10})
    name, hparams = experiment.model["name"], experiment.options("model")
    return (lambda nn: get_model(name, nn=nn, **hparams)), shape


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


def measure(torch, example: str, batch: int, threads: int, seconds: float) -> dict:
    build, shape = example_model(example)
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((batch, *shape), dtype=np.float32)
    targets = rng.integers(0, 10, batch)
    runners = {"dlcore": dlcore_step(build, inputs, targets)}
    if torch is not None:
        runners["torch"] = torch_step(torch, build, inputs, targets)
    medians = bench.interleaved_medians(runners, budget=seconds, rounds=ROUNDS,
                                        min_calls=ROUNDS, max_calls=100 * ROUNDS)
    ours, theirs = medians["dlcore"], medians.get("torch")
    return {"example": example, "input": "x".join(map(str, shape)), "batch": batch,
            "threads": threads, "dlcore_ms": ours * 1e3,
            "torch_ms": theirs and theirs * 1e3, "ratio": theirs and theirs / ours}


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 1,2, got {text!r}")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=_ints, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--batch", type=_ints, default=[32, 128], help="e.g. 32,128")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="timing budget per model and side (at least one step a round)")
    parser.add_argument("--only", default="", help="comma-separated example names")
    parser.add_argument("--render", action="store_true",
                        help="time nothing: write README.md's table from results/zoo_step.json")
    parser.add_argument("--readme", action="store_true",
                        help="also write the table into README.md (between its zoo-step markers)")
    parser.add_argument("--json", nargs="?", const=str(RESULTS / "zoo_step.json"),
                        metavar="FILE", help="also write the rows as JSON "
                        "(default file: benchmarks/results/zoo_step.json)")
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "zoo_step.json").read_text())
        write_readme_block(BEGIN, END, readme_table(saved))
        print("README.md: zoo step table written")
        return
    chosen = [e for e in EXAMPLES if not args.only or e in args.only.split(",")]
    if not chosen or args.seconds <= 0:
        parser.error(f"nothing to time: --only {args.only!r} names none of {', '.join(EXAMPLES)}"
                     if not chosen else f"--seconds must be > 0, got {args.seconds}")
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing dlcore alone", file=sys.stderr)
    rows = []
    print(f"training step, dlcore vs PyTorch, same builder (kernel path {kernels.cpu_path()}); "
          f"median step of {ROUNDS} alternating rounds, {args.seconds:g} s per side")
    print(f"{'example':14} {'input':>8} {'batch':>5} {'thr':>3} {'dlcore ms':>10} "
          f"{'torch ms':>9} {'torch/dlcore':>12}")
    for threads in args.threads:
        with bench.same_threads(threads, torch):
            for example in chosen:
                for batch in args.batch:
                    r = measure(torch, example, batch, threads, args.seconds)
                    rows.append(r)
                    theirs = (f"{r['torch_ms']:9.2f} {r['ratio']:12.2f}" if r["torch_ms"]
                              else f"{'-':>9} {'-':>12}")
                    print(f"{example:14} {r['input']:>8} {batch:5} {threads:3} "
                          f"{r['dlcore_ms']:10.2f} {theirs}", flush=True)
    saved = {"cpu": cpu_name(), "cpu_path": kernels.cpu_path(), "torch": _torch_version(),
             "rows": rows}
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=2) + "\n")
        print(f"wrote {path}")
    if args.readme:
        write_readme_block(BEGIN, END, readme_table(saved))
        print("README.md: zoo step table written")


BEGIN, END = "<!-- zoo-step:begin -->", "<!-- zoo-step:end -->"


def readme_table(saved: dict) -> str:
    """One row per example, a column per (threads, batch): our step in ms and PyTorch's
    time over ours."""
    rows = saved["rows"]
    cases = sorted({(r["threads"], r["batch"]) for r in rows})
    head = ("| example | input | " + " | ".join(f"{t} thread{'s' * (t > 1)}, batch {b}"
                                              for t, b in cases) + " |")
    torch = " ".join(filter(None, ["PyTorch", saved.get("torch")]))
    lines = [f"Training step of each example's model, dlcore vs {torch} from the same "
             f"builder, measured on {saved['cpu']} "
             f"(kernel path {saved['cpu_path']}) by "
             "`python benchmarks/zoo_step.py`: our ms per step and PyTorch's time over ours "
             "(> 1: dlcore is faster).", "", head, "|---|---|" + "---|" * len(cases)]
    for example in dict.fromkeys(r["example"] for r in rows):
        cells = {(r["threads"], r["batch"]): r for r in rows if r["example"] == example}
        shown = [f"{cells[c]['dlcore_ms']:.1f} ms ({cells[c]['ratio']:.2f}×)"
                 if c in cells and cells[c]["ratio"] else "-" for c in cases]
        first = next(iter(cells.values()))
        lines.append(f"| {example} | {first['input']} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def _torch_version() -> str:
    try:
        import torch
    except ImportError:
        return "(not installed)"
    return torch.__version__.split("+")[0]


if __name__ == "__main__":
    main()
