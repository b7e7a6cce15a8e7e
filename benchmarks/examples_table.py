"""Train every example config and write the README's table of what each reaches, how fast.

Each example trains from scratch exactly as ``dl train CONFIG`` would (into a temporary run
directory), with the given thread count; its row gives the final model's result on the test
split, the best one on the validation part (which picks ``best.npz``), the wall time and the
training samples/s, and the table names the CPU it ran on. The rows
replace what lies between ``<!-- examples:begin -->`` and ``<!-- examples:end -->`` in
README.md, and the raw summaries go to ``benchmarks/results/examples.json``.

    python benchmarks/examples_table.py [--threads 2] [--only lenet,gaussian] [--dry-run]
    python benchmarks/examples_table.py --render    # the table again from the saved results
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import tempfile
from pathlib import Path

from dlcore import kernels
from dlcore.train import load, run

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "examples.json"
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"
#: The examples in the table, in order (paths under examples/).
EXAMPLES = ["fashion_mnist/softmax_regression.toml", "fashion_mnist/lenet_classic.toml",
            "fashion_mnist/lenet.toml", "fashion_mnist/lenet_bn.toml", "fashion_mnist/mlp.toml", "kjv/char_lstm.toml",
            "kjv/seq2seq.toml", "gan/gaussian.toml", "synthetic/spirals.toml",
            "synthetic/linear.toml"]
#: How a metric reads in the table.
SHOW = {"accuracy": lambda v: f"{100 * v:.2f} % accuracy",
        "perplexity": lambda v: f"perplexity {v:.2f}", "loss": lambda v: f"loss {v:.4g}",
        "frechet_distance": lambda v: f"Fréchet distance {v:.3f}"}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(example: str, threads: int) -> dict:
    experiment = load(ROOT / "examples" / example)
    with tempfile.TemporaryDirectory() as run_dir:
        summary = run(experiment, run_dir=run_dir, threads=threads)
    return {"example": example, "epochs": summary["epochs"], "steps": summary["steps"],
            "monitor": summary["monitor"], "test": summary["test"],
            "validation": summary["best"], "wall_seconds": summary["wall_seconds"],
            "samples_per_s": summary["samples_per_s"], "threads": threads}


#: The metric a row shows: the first of these that the evaluation reports.
PREFERRED = ("perplexity", "accuracy", "frechet_distance", "loss")


def row(result: dict) -> str:
    test, best = result["test"], result["validation"]
    metric = next(m for m in PREFERRED if m in test)
    reached = SHOW[metric](test[metric])
    if best["split"] != test["split"]:
        reached += f" (best validation {SHOW[metric](best[metric])} at step {best['step']:,})"
    elif best[metric] != test[metric]:
        reached += f" (best {SHOW[metric](best[metric])} at step {best['step']:,})"
    steps = f"{result['epochs']} epoch{'s' * (result['epochs'] != 1)}, {result['steps']:,} steps"
    return (f"| `dl train examples/{result['example']}` | {steps} | {reached} | "
            f"{result['wall_seconds']:.1f} s | {result['samples_per_s']:,.0f} |")


def table(results: list[dict], cpu: str, threads: int) -> str:
    head = (f"Measured on {cpu}, {threads} threads, kernel path {kernels.cpu_path()} "
            f"(`python benchmarks/examples_table.py`):\n\n"
            "| example | trained for | test split, final model | wall | samples/s |\n"
            "|---|---|---|---|---|")
    return "\n".join([head, *(row(r) for r in results)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated substrings of examples")
    parser.add_argument("--dry-run", action="store_true", help="print, don't write README")
    parser.add_argument("--render", action="store_true",
                        help="train nothing: rewrite the table from results/examples.json")
    args = parser.parse_args()
    chosen = [e for e in EXAMPLES if not args.only
              or any(part and part in e for part in args.only.split(","))]
    cpu = cpu_name()
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    same_machine = previous.get("cpu") == cpu and previous.get("threads") == args.threads
    results = {r["example"]: r for r in previous.get("results", [])} if same_machine else {}
    for example in [] if args.render else chosen:
        results[example] = measure(example, args.threads)
        print(row(results[example]), flush=True)
    ordered = [results[e] for e in EXAMPLES if e in results]
    text = table(ordered, cpu, args.threads)
    if args.dry_run:
        print(text)
        return
    RESULTS.write_text(json.dumps({"cpu": cpu, "cpu_path": kernels.cpu_path(),
                                   "threads": args.threads, "results": ordered}, indent=2) + "\n")
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the {BEGIN} ... {END} markers")
    README.write_text(re.sub(f"{re.escape(BEGIN)}.*?{re.escape(END)}",
                             lambda _: f"{BEGIN}\n{text}\n{END}", readme, flags=re.S))
    print(f"README.md: {len(ordered)} rows written")


if __name__ == "__main__":
    main()
