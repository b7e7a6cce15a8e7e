"""Our SGEMM against NumPy's BLAS and PyTorch on a Linear layer's shapes and on squares.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm.py \
        [--threads 1 2] [--max-size 2048] [--budget 0.5]

The shapes are the three products of each Linear layer of an MLP 784-256-10 at batch 64
(forward y = x·Wᵀ, dX = dY·W, dW = dYᵀ·X, with the operands stored as the layers store them),
then squares. Cases and timing are `dl bench`'s (`dlcore.kernels.bench`): every side on the
same threads, taking turns, medians compared. Prints GFLOP/s, the speed-up over NumPy and
PyTorch (> 1: ours is faster) and % of the FMA peak for that thread count.
"""
import argparse

from dlcore import kernels
from dlcore.kernels import bench

# (m, k, n, trans_a, trans_b) of op(a) (m, k) · op(b) (k, n)
LINEAR = [(64, 784, 256, False, True), (64, 256, 784, False, False),
          (256, 64, 784, True, False), (64, 256, 10, False, True),
          (64, 10, 256, False, False), (10, 64, 256, True, False)]
SQUARES = [64, 128, 256, 512, 1024, 2048]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-size", type=int, default=2048)
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per case and side")
    args = parser.parse_args()
    if min(args.threads) < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    cases = [bench.gemm_case(m, k, n, trans_a=ta, trans_b=tb) for m, k, n, ta, tb in LINEAR]
    cases += [bench.gemm_case(s, s, s) for s in SQUARES if s <= args.max_size]
    for threads in args.threads:
        peak = bench.peak_gflops(threads)
        records = bench.run(cases, threads, args.budget)
        print(f"\n{threads} thread(s), path {kernels.cpu_path()}, FMA peak {peak:.0f} GFLOP/s, "
              f"NumPy's BLAS: {records[0]['blas']}")
        print(f"{'op(a) · op(b)':>26} {'ours':>7} {'numpy':>7} {'torch':>7} {'vs np':>6} "
              f"{'vs pt':>6} {'%peak':>6}   (GFLOP/s)")
        for case in cases:
            by = {r["backend"]: r for r in records if r["shape"] == case.shape}
            ours = by["c"]
            cells = [f"{by[b]['gflops']:7.1f}" if b in by else f"{'-':>7}"
                     for b in ("c", "numpy", "torch")]
            ratios = [f"{by[b]['median_s'] / ours['median_s']:6.2f}" if b in by else f"{'-':>6}"
                      for b in ("numpy", "torch")]
            print(f"{case.shape:>26} {' '.join(cells)} {' '.join(ratios)} "
                  f"{100 * ours['gflops'] / peak:6.1f}", flush=True)


if __name__ == "__main__":
    main()
