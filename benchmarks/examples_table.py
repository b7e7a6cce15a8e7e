"""Train every example config and write the README's table of what each reaches, how fast.

Each example trains from scratch exactly as ``dl train CONFIG`` would (into a temporary run
directory, or with ``--runs`` one kept for `dl eval`/`generate`/`translate`), with the
given thread count; its row gives the final model's result on the test
split, the best one on the validation part (which picks ``best.npz``), the wall time and the
training samples/s, and the table names the CPU it ran on. The rows
replace what lies between ``<!-- examples:begin -->`` and ``<!-- examples:end -->`` in
README.md, and the raw summaries go to ``benchmarks/results/examples.json``.

    python benchmarks/examples_table.py [--threads 2] [--only lenet,gaussian] [--dry-run]
    python benchmarks/examples_table.py --only kjv/ --runs runs/table   # keep the trained runs
    python benchmarks/examples_table.py --render    # the table again from the saved results

Each row names the machine it was measured on (CPU, kernel path, thread count), so a table
can grow across machines one ``--only`` run at a time without passing one machine's numbers
off as another's; ``--fresh`` drops every saved row first. Each row records a digest of the
config it trained, and a row whose config has changed since is left out of the table (listed
under it as not yet measured) until it is measured again.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import platform
import re
import tempfile
from pathlib import Path

from dlcore import kernels
from dlcore.train import load, run
from dlcore.train.evaluation import evaluate_run

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "examples.json"
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"
#: The examples in the table, in order (paths under examples/).
EXAMPLES = [*(f"fashion_mnist/{name}.toml" for name in (
    "softmax_regression", "mlp", "lenet_classic", "lenet", "lenet_bn", "alexnet", "vgg11", "nin",
    "googlenet", "resnet18", "densenet")),
    *(f"kjv/{name}.toml" for name in ("char_rnn", "char_gru", "char_lstm", "char_lstm2",
                                      "char_gpt", "seq2seq", "seq2seq_attention",
                                      "transformer")),
    *(f"generative/{name}.toml" for name in ("autoencoder", "vae", "dcgan")),
    "gan/gaussian.toml", "synthetic/spirals.toml", "synthetic/linear.toml"]
#: benchmarks/zoo_step.py's measurements: the table quotes its batch-128 ratio per example.
ZOO_STEP = ROOT / "benchmarks" / "results" / "zoo_step.json"
#: How a metric reads in the table.
SHOW = {"accuracy": lambda v: f"{100 * v:.2f} % accuracy",
        "perplexity": lambda v: f"perplexity {v:.2f}", "loss": lambda v: f"loss {v:.4g}",
        "frechet_distance": lambda v: f"Fréchet distance {v:.3f}",
        "bleu": lambda v: f"BLEU {v:.2f}", "neg_elbo": lambda v: f"−ELBO {v:.1f} nats/image"}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def config_digest(example: str) -> str:
    """SHA-256 of the example's config file: which config a saved row measured."""
    return hashlib.sha256((ROOT / "examples" / example).read_bytes()).hexdigest()


def measure(example: str, threads: int, runs: Path | None = None) -> dict:
    """Train ``example`` into ``runs/<example>`` (kept; refused if a run is there) or, without
    ``runs``, a temporary directory, and return its row."""
    experiment = load(ROOT / "examples" / example)
    with contextlib.ExitStack() as stack:
        run_dir = (runs / example.removesuffix(".toml") if runs is not None
                   else Path(stack.enter_context(tempfile.TemporaryDirectory())))
        summary = run(experiment, run_dir=run_dir, threads=threads)
        test = summary["test"]
        if "bleu" in test:  # beam search's BLEU, which only `dl eval`'s detailed pass computes
            beam = evaluate_run(run_dir / "checkpoints" / "last.npz",
                                split=test["split"]).get("bleu_beam")
            test = test if beam is None else {**test, "bleu_beam": beam}
    return {"example": example, "config_sha256": config_digest(example),
            "model": summary["model"], "parameters": summary["parameters"],
            "input_shape": summary["input_shape"],
            "epochs": summary["epochs"], "steps": summary["steps"],
            "monitor": summary["monitor"], "test": test,
            "validation": summary["best"], "wall_seconds": summary["wall_seconds"],
            "samples_per_s": summary["samples_per_s"], **machine_of(threads)}


def machine_of(threads: int) -> dict:
    return {"cpu": cpu_name(), "cpu_path": kernels.cpu_path(), "threads": threads}


def machine_label(result: dict) -> str:
    return f"{result['cpu']} ({result['cpu_path']}), {result['threads']} thr"


#: The metric a row shows: the first of these that the evaluation reports.
PREFERRED = ("bleu", "neg_elbo", "perplexity", "accuracy", "frechet_distance", "loss")


def step_ratios() -> dict[tuple, float]:
    """(example file, cpu, cpu path, threads) -> PyTorch's step time over ours at batch 128,
    from zoo_step.json (which holds one machine's measurements)."""
    if not ZOO_STEP.is_file():
        return {}
    saved = json.loads(ZOO_STEP.read_text())
    return {(f"fashion_mnist/{r['example']}.toml", saved.get("cpu"), saved.get("cpu_path"),
             r["threads"]): r["ratio"]
            for r in saved["rows"] if r["batch"] == 128 and r["ratio"]}


def row(result: dict, ratio: float | None = None) -> str:
    test, best = result["test"], result["validation"]
    metric = next(m for m in PREFERRED if m in test)
    reached = SHOW[metric](test[metric])
    if metric == "loss" and "mse" in test:          # a reconstruction: its pixel error too
        reached += f", MSE {test['mse']:.4f} per pixel"
    if test.get("bleu_beam") is not None:         # a translation: beam search's BLEU too
        reached += f", beam search {test['bleu_beam']:.2f}"
    if best["split"] != test["split"]:
        reached += f" (best validation {SHOW[metric](best[metric])} at step {best['step']:,})"
    elif best[metric] != test[metric]:
        reached += f" (best {SHOW[metric](best[metric])} at step {best['step']:,})"
    steps = f"{result['epochs']} epoch{'s' * (result['epochs'] != 1)}, {result['steps']:,} steps"
    shape = result.get("input_shape")
    model = (f"{result['model']}, {'x'.join(map(str, shape)) if shape else '-'}, "
             f"{result['parameters']:,}" if "model" in result else "-")
    return (f"| `dl train examples/{result['example']}` | {model} | {steps} | {reached} | "
            f"{result['wall_seconds']:.1f} s | {result['samples_per_s']:,.0f} | "
            f"{f'{ratio:.2f}×' if ratio else '-'} | {machine_label(result)} |")


def table(results: list[dict]) -> str:
    head = ("Each row is one `dl train` of the example from scratch, seed 0 "
            "(`python benchmarks/examples_table.py`), on the machine its last column names:\n\n"
            "| example | model, input, parameters | trained for | test split, final model | wall "
            "| samples/s | step vs PyTorch | measured on |\n|---|---|---|---|---|---|---|---|")
    ratios = step_ratios()
    ratio_of = {r["example"]: ratios.get((r["example"], r["cpu"], r["cpu_path"], r["threads"]))
                for r in results}
    note = ("\n\nStep vs PyTorch: PyTorch's training-step time over ours for the same model at "
            "batch 128, on the row's machine and thread count (`python benchmarks/zoo_step.py`; "
            "> 1: we are faster)." if any(ratio_of.values()) else "")
    measured = {r["example"] for r in results}
    pending = [e for e in EXAMPLES if e not in measured]
    if pending:
        note += ("\n\nNot in the table yet (new, or changed since they were last measured): "
                 + ", ".join(f"`{e}`" for e in pending) + ".")
    return "\n".join([head, *(row(r, ratio_of[r["example"]]) for r in results)]) + note


def saved_results() -> dict[str, dict]:
    """example -> its saved row; rows of the older one-machine format get the file's machine."""
    if not RESULTS.is_file():
        return {}
    saved = json.loads(RESULTS.read_text())
    machine = {k: saved[k] for k in ("cpu", "cpu_path", "threads") if k in saved}
    return {r["example"]: {**machine, **r} for r in saved["results"]}


def write_readme_block(begin: str, end: str, text: str) -> None:
    """Replace what lies between the markers ``begin`` and ``end`` in README.md by ``text``."""
    readme = README.read_text()
    if begin not in readme or end not in readme:
        raise SystemExit(f"README.md lacks the {begin} ... {end} markers")
    README.write_text(re.sub(f"{re.escape(begin)}.*?{re.escape(end)}",
                             lambda _: f"{begin}\n{text}\n{end}", readme, flags=re.S))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated substrings of examples")
    parser.add_argument("--runs", type=Path, default=None,
                        help="keep each example's run in RUNS/<example> (default: a temporary "
                             "directory, removed)")
    parser.add_argument("--dry-run", action="store_true", help="print, don't write README")
    parser.add_argument("--fresh", action="store_true",
                        help="drop the saved rows and start the table from the examples run")
    parser.add_argument("--render", action="store_true",
                        help="train nothing: rewrite the table from results/examples.json")
    args = parser.parse_args()
    chosen = [e for e in EXAMPLES if not args.only
              or any(part and part in e for part in args.only.split(","))]
    results = {} if args.fresh else saved_results()
    if args.render and not results:
        raise SystemExit(f"nothing to render: {RESULTS} does not exist")
    for example in [] if args.render else chosen:
        results[example] = measure(example, args.threads, args.runs)
        print(row(results[example]), flush=True)
        if not args.dry_run:  # saved after each example: a long run cut short keeps its rows
            save(results)
    if args.dry_run:
        print(table(current(results)))
        return
    save(results)
    print(f"README.md: {len(current(results))} rows written")


def current(results: dict[str, dict]) -> list[dict]:
    """The saved rows that measured the example's present config, in the examples' order."""
    return [results[e] for e in EXAMPLES
            if e in results and results[e].get("config_sha256") == config_digest(e)]


def save(results: dict[str, dict]) -> None:
    kept = [results[e] for e in EXAMPLES if e in results]  # stale rows stay until re-measured
    RESULTS.write_text(json.dumps({"results": kept}, indent=2) + "\n")
    write_readme_block(BEGIN, END, table(current(results)))


if __name__ == "__main__":
    main()
