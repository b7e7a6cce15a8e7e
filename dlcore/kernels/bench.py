"""Kernel benchmarks: our C kernels vs the NumPy reference vs PyTorch, side by side in one run.

Each case builds its inputs once, then every backend runs the same operation (for conv and
pooling: forward + backward, the work a training step does), the backends taking turns in
rounds, and we report each one's median. PyTorch runs through its ATen kernels directly (no
autograd tape), so the comparison is kernel against kernel. The timing loop
(:func:`interleaved_medians`) and the thread setting (:func:`same_threads`) are also what the
scripts in ``benchmarks/`` time whole training steps with.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

import dlcore.kernels as kernels

from threadpoolctl import threadpool_info, threadpool_limits


@dataclass
class Case:
    kernel: str
    shape: str
    flops: float | None                       # None for memory-bound kernels
    make: Callable[[np.random.Generator], tuple]
    ours: Callable[..., object]               # runs through dlcore.kernels (any backend)
    torch: Callable[..., Callable[[], object]] | None = None   # inputs -> zero-arg runner


def gemm_case(m, k, n, label=None, trans_a=False, trans_b=False) -> Case:
    """``op(a) · op(b)`` of shape (m, k) · (k, n) into a preallocated output; ``trans_*`` store
    the operand transposed, as a Linear layer's backward does."""
    def make(rng):
        a = rng.standard_normal((k, m) if trans_a else (m, k), np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n), np.float32)
        return a, b, np.empty((m, n), np.float32)

    def torch_runner(torch, a, b, c):
        ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
        ta, tb = (ta.T if trans_a else ta), (tb.T if trans_b else tb)
        return lambda: torch.mm(ta, tb, out=tc)

    op = ("T" if trans_a else "N") + ("T" if trans_b else "N")
    return Case("gemm", label or f"{m}x{k} · {k}x{n} {op}", 2.0 * m * n * k, make,
                lambda a, b, c: kernels.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b),
                torch_runner)


def _conv_case(label, n, c, h, oc, k, pad):
    oh = h + 2 * pad - k + 1
    flops = 3 * 2.0 * n * oc * oh * oh * c * k * k     # forward, dX and dW
    padding = (pad,) * 4

    def make(rng):
        x = rng.standard_normal((n, c, h, h), np.float32)
        w = rng.standard_normal((oc, c, k, k), np.float32) * 0.1
        b = rng.standard_normal(oc, np.float32)
        dy = rng.standard_normal((n, oc, oh, oh), np.float32)
        return x, w, b, dy

    def ours(x, w, b, dy):
        kernels.conv2d_forward(x, w, b, (1, 1), padding)
        return kernels.conv2d_backward(x, w, dy, (1, 1), padding)

    def torch_runner(torch, x, w, b, dy):
        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))
        aten = torch.ops.aten

        def run():
            aten.convolution(tx, tw, tb, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1)
            return aten.convolution_backward(tdy, tx, tw, [oc], [1, 1], [pad, pad], [1, 1],
                                             False, [0, 0], 1, [True, True, True])
        return run

    return Case("conv2d fwd+bwd", label, flops, make, ours, torch_runner)


def _pool_case(kind, n, c, h):
    def make(rng):
        x = rng.standard_normal((n, c, h, h), np.float32)
        return x, rng.standard_normal((n, c, h // 2, h // 2), np.float32)

    if kind == "max":
        def ours(x, dy):
            _, idx = kernels.max_pool2d_forward(x, 2, 2, 0)
            return kernels.max_pool2d_backward(dy, idx, x.shape)

        def torch_runner(torch, x, dy):
            tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
            aten = torch.ops.aten

            def run():
                _, idx = aten.max_pool2d_with_indices(tx, [2, 2], [2, 2], [0, 0], [1, 1], False)
                return aten.max_pool2d_with_indices_backward(tdy, tx, [2, 2], [2, 2], [0, 0],
                                                             [1, 1], False, idx)
            return run
    else:
        def ours(x, dy):
            kernels.avg_pool2d_forward(x, 2, 2, 0)
            return kernels.avg_pool2d_backward(dy, x.shape, 2, 2, 0)

        def torch_runner(torch, x, dy):
            tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
            aten = torch.ops.aten

            def run():
                aten.avg_pool2d(tx, [2, 2], [2, 2], [0, 0], False, True, None)
                return aten.avg_pool2d_backward(tdy, tx, [2, 2], [2, 2], [0, 0], False, True,
                                                None)
            return run

    return Case(f"{kind}_pool2d 2x2 fwd+bwd", f"{n}x{c}x{h}x{h}", None, make, ours,
                torch_runner)


def _xent_case(n, c):
    def make(rng):
        return (rng.standard_normal((n, c), np.float32) * 3,
                rng.integers(0, c, n).astype(np.int64))

    def torch_runner(torch, logits, target):
        tl, tt = torch.from_numpy(logits), torch.from_numpy(target)
        aten = torch.ops.aten

        def run():
            logp = aten._log_softmax(tl, 1, False)
            loss, total = aten.nll_loss_forward(logp, tt, None, 1, -100)
            g = aten.nll_loss_backward(torch.ones(()), logp, tt, None, 1, -100, total)
            return aten._log_softmax_backward_data(g, logp, 1, torch.float32)
        return run

    return Case("softmax_xent fwd+bwd", f"{n}x{c}", None, make,
                lambda logits, target: kernels.softmax_cross_entropy(logits, target),
                torch_runner)


def default_cases(quick: bool = False) -> list[Case]:
    sizes = (64, 128, 256, 512) if quick else (64, 128, 256, 512, 1024, 2048)
    return [
        *(gemm_case(s, s, s) for s in sizes),
        gemm_case(64, 784, 256, "MLP 64x784 · 784x256"),
        gemm_case(256, 256, 10, "MLP 256x256 · 256x10"),
        _conv_case("LeNet 64x1x28x28 1→6 5x5 p2", 64, 1, 28, 6, 5, 2),
        _conv_case("LeNet 64x6x14x14 6→16 5x5", 64, 6, 14, 16, 5, 0),
        _conv_case("ResNet 32x64x32x32 3x3 p1", 32, 64, 32, 64, 3, 1),
        _pool_case("max", 64, 6, 28), _pool_case("max", 32, 64, 32),
        _pool_case("avg", 64, 6, 28), _pool_case("avg", 32, 64, 32),
        _xent_case(256, 10), _xent_case(4096, 1000),
    ]


# Idle threads of the side timed before keep spinning for a while (OpenBLAS's for ~0.1 s): on
# a 2-core machine they would take a core from the next side's second thread (a 256³ product
# took 8x longer). Each side's turn starts only after they have gone to sleep.
SETTLE_SECONDS = 0.2


def interleaved_medians(runners: dict[str, Callable[[], object]], budget: float,
                        rounds: int = 3, min_calls: int = 3,
                        max_calls: int = 300) -> dict[str, float]:
    """Median wall seconds per call of each runner.

    After one warm-up call each, the runners take turns for ``rounds`` rounds, each turn
    filling ``budget / rounds`` seconds (and at least ``min_calls / rounds`` calls), so a load
    change on a shared machine hits every side alike."""
    for fn in runners.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in runners}
    per_turn, calls_per_turn = budget / rounds, -(-min_calls // rounds)
    for _ in range(rounds):
        for name, fn in runners.items():
            time.sleep(SETTLE_SECONDS)
            samples, start = times[name], time.perf_counter()
            for call in range(-(-max_calls // rounds)):
                if call >= calls_per_turn and time.perf_counter() - start >= per_turn:
                    break
                t0 = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t0)
    return {name: statistics.median(samples) for name, samples in times.items()}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


@contextlib.contextmanager
def same_threads(threads: int, torch=None) -> Iterator[str]:
    """Run our kernels, PyTorch (when given) and NumPy's BLAS (through threadpoolctl, which
    reaches a BLAS already loaded) on ``threads`` threads each; yields which BLAS NumPy uses
    and its thread count, for the report."""
    kernels.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    with threadpool_limits(threads, user_api="blas"):
        yield blas_threads()


def blas_threads() -> str:
    """The BLAS libraries loaded in this process and their thread counts, e.g. "openblas 2"."""
    return ", ".join(f"{m['internal_api']} {m['num_threads']}" for m in threadpool_info()
                     if m["user_api"] == "blas") or "no BLAS loaded"


def run(cases: list[Case], threads: int, budget: float = 0.5, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> list[dict]:
    """Time every case on every backend with `threads` threads each; one record per
    measurement, naming NumPy's BLAS and its thread count."""
    torch = _torch()
    records = []
    with same_threads(threads, torch) as blas:
        for case in cases:
            if progress:
                progress(f"{case.kernel} {case.shape}")
            inputs = case.make(np.random.default_rng(seed))
            runners = {}
            for backend in ("c", "numpy"):
                def runner(backend=backend):
                    with kernels.use_backend(backend):
                        return case.ours(*inputs)
                runners[backend] = runner
            if torch is not None and case.torch is not None:
                runners["torch"] = case.torch(torch, *inputs)
            for backend, median in interleaved_medians(runners, budget).items():
                records.append({
                    "kernel": case.kernel, "shape": case.shape, "backend": backend,
                    "threads": threads, "blas": blas, "median_s": median,
                    "gflops": case.flops / median * 1e-9 if case.flops else None,
                })
    return records


def peak_gflops(threads: int) -> float | None:
    """The machine's FMA peak for `threads` threads: one thread measured, times `threads`."""
    one = kernels.peak_gflops(seconds=0.3)
    return one * threads if one is not None else None
