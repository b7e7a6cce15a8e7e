"""`dl bench`: our kernels vs the NumPy reference vs PyTorch, one table, one run."""
import sys

import click
from rich import box
from rich.console import Console
from rich.table import Table

from dlcore.kernels import bench as B

from . import options


def _parse_threads(value):
    try:
        threads = [int(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected a comma-separated list of integers, got {value!r}")
    if min(threads) < 1:
        raise click.BadParameter(f"thread counts must be >= 1, got {value!r}")
    return threads


def _rows(records, peaks):
    """One row per (case, threads): ours vs numpy vs torch."""
    by_key = {}
    for r in records:
        by_key.setdefault((r["kernel"], r["shape"], r["threads"]), {})[r["backend"]] = r
    for (kernel, shape, threads), rec in by_key.items():
        ours = rec["c"]
        peak = peaks.get(threads)
        yield {
            "kernel": kernel, "shape": shape, "threads": threads,
            "ms": {b: r["median_s"] * 1e3 for b, r in rec.items()},
            "gflops": ours["gflops"],
            "peak_pct": 100 * ours["gflops"] / peak if ours["gflops"] and peak else None,
            "vs": {b: r["median_s"] / ours["median_s"] for b, r in rec.items() if b != "c"},
        }


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


@click.command()
@click.argument("only", nargs=-1)
@click.option("--threads", default="1", show_default=True,
              help="Thread counts to measure, e.g. 1,2.")
@click.option("--quick", is_flag=True, help="Smaller GEMMs and a shorter time budget per case.")
@click.option("--budget", type=float, default=None,
              help="Seconds of repetitions per case and backend (default 0.5, quick 0.15).")
@options.as_json
def bench(only, threads, quick, budget, as_json):
    """Time the C kernels against the NumPy reference (and PyTorch when installed), every
    side on the same threads.

    ONLY filters the cases by kernel name; kernels: gemm, conv2d, max_pool2d, avg_pool2d,
    softmax_xent. Speed-ups are "x faster than": the other side's median / ours. --json
    prints the records (kernel, shape, backend, threads, blas, median_s, gflops). Examples:

    \b
      dl bench --threads 1,2
      dl bench gemm conv2d --quick
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dl bench --json > bench.json
    """
    counts = _parse_threads(threads)
    cases = [c for c in B.default_cases(quick) if not only or any(o in c.kernel for o in only)]
    if not cases:
        raise click.BadParameter(f"no kernel matches {' '.join(only)!r}", param_hint="ONLY")
    budget = budget if budget is not None else (0.15 if quick else 0.5)
    err = Console(stderr=True)
    peaks = {t: B.peak_gflops(t) for t in counts}
    records = []
    for t in counts:
        with err.status(f"benchmarking on {t} thread(s)") as status:
            records += B.run(cases, t, budget,
                             progress=lambda s: status.update(f"[{t} thread(s)] {s}"))
    if as_json:
        options.echo_json({"peak_gflops": peaks, "records": records})
        return
    torch_present = any(r["backend"] == "torch" for r in records)
    terminal = sys.stdout.isatty()
    console = Console() if terminal else Console(width=200, no_color=True, highlight=False)
    blas = {r["threads"]: r["blas"] for r in records}
    table = Table(title="dl bench, the same threads on every side; FMA peak " + ", ".join(
        f"{_fmt(p, '.0f')} GFLOP/s on {t}" for t, p in peaks.items())
        + "; NumPy's BLAS: " + ", ".join(dict.fromkeys(blas.values())),
        box=box.SIMPLE_HEAVY if terminal else box.ASCII2)
    for col in ["kernel", "shape", "thr", "ours ms", "numpy ms"] + (
            ["torch ms"] if torch_present else []) + ["GFLOP/s", "% peak", "vs numpy"] + (
            ["vs torch"] if torch_present else []):
        table.add_column(col, justify="left" if col in ("kernel", "shape") else "right")
    for row in _rows(records, peaks):
        ms, vs = row["ms"], row["vs"]
        cells = [row["kernel"], row["shape"], str(row["threads"]), _fmt(ms.get("c"), ".3f"),
                 _fmt(ms.get("numpy"), ".3f")]
        if torch_present:
            cells.append(_fmt(ms.get("torch"), ".3f"))
        cells += [_fmt(row["gflops"], ".1f"), _fmt(row["peak_pct"], ".0f"),
                  _fmt(vs.get("numpy"), ".2f") + "x"]
        if torch_present:
            cells.append(_fmt(vs.get("torch"), ".2f") + "x")
        table.add_row(*cells)
    console.print(table)
