"""Our SGEMM against NumPy's (OpenBLAS) on the square and MLP shapes, 1 and 2 threads.

    python benchmarks/bench_gemm.py [--threads 1 2] [--max-size 2048] [--only 64x256x784]

Each thread count runs in its own process, because OpenBLAS reads OPENBLAS_NUM_THREADS when
NumPy is imported. Ours goes through `dlcore.kernels.gemm`, as `dl bench` and the layers call
it. The machine is shared, so the two are timed in alternation (load spikes hit both) and
compared by their medians. Prints GFLOP/s, the ratio (>1: ours is faster) and % of the
one-thread FMA peak times the thread count.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

# (m, n, k, trans_a, trans_b): a Linear layer's forward y = x·Wᵀ, dX = dY·W and dW = dYᵀ·X
# for 784-256-10 at batch 64, then squares.
SHAPES = [(64, 256, 784, False, True), (64, 784, 256, False, False),
          (256, 784, 64, True, False), (64, 10, 256, False, True),
          (64, 256, 10, False, False), (10, 256, 64, True, False),
          (256, 10, 256, False, True), (256, 256, 10, False, False),
          (10, 256, 256, True, False)]
SQUARES = [64, 128, 256, 512, 1024, 2048]


def median_seconds(fns, flops, rounds=7):
    """Median seconds per call of each of `fns`, timed in alternating batches of ~30 ms.

    After a call both libraries' idle threads keep spinning for a while (OpenBLAS's for up to
    ~0.1 s), and would steal the cores of whichever runs next: each batch starts after a pause
    long enough for them to go to sleep."""
    for fn in fns:
        fn()
    calls = max(1, int(3e-2 * 1e11 / flops))  # ~30 ms at 100 GFLOP/s
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, ts in zip(fns, times):
            time.sleep(0.2)
            fn()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            ts.append((time.perf_counter() - t0) / calls)
    return [float(np.median(ts)) for ts in times]


def run(threads, max_size, only):
    from dlcore import kernels
    kernels.set_num_threads(threads)
    peak = kernels._c.peak_gflops() * threads
    print(f"\n{threads} thread(s), path {kernels.cpu_path()}, peak {peak:.0f} GFLOP/s")
    print(f"{'m x n x k':>18} {'op':>3} {'ours':>8} {'numpy':>8} {'ratio':>6} {'%peak':>6}")
    rng = np.random.default_rng(0)
    shapes = SHAPES + [(s, s, s, False, False) for s in SQUARES if s <= max_size]
    for m, n, k, ta, tb in shapes:
        if only and f"{m}x{n}x{k}" not in only:
            continue
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        opa, opb = (a.T if ta else a), (b.T if tb else b)
        flops = 2.0 * m * n * k
        ours, theirs = median_seconds(
            [lambda: kernels.gemm(a, b, c, trans_a=ta, trans_b=tb),
             lambda: np.matmul(opa, opb, out=c)], flops)
        op = ("T" if ta else "N") + ("T" if tb else "N")
        gflops = flops / ours * 1e-9
        print(f"{m:>5} x{n:>5} x{k:>5} {op:>3} {gflops:8.1f} {flops / theirs * 1e-9:8.1f} "
              f"{theirs / ours:6.2f} {100 * gflops / peak:6.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-size", type=int, default=2048)
    parser.add_argument("--only", nargs="*", default=[], metavar="MxNxK",
                        help="run only these shapes, e.g. 64x64x64 256x10x256")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run(args.threads[0], args.max_size, args.only)
        return
    for threads in args.threads:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
        env["OPENBLAS_NUM_THREADS"] = str(threads)
        subprocess.run([sys.executable, __file__, "--worker", "--threads", str(threads),
                        "--max-size", str(args.max_size), "--only", *args.only],
                       env=env, check=True)


if __name__ == "__main__":
    main()
