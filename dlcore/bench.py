"""Kernel benchmarks: our C kernels vs the NumPy reference vs PyTorch, side by side in one run.

Each case builds its inputs once, then every backend runs the same operation (for conv and
pooling: forward + backward, the work a training step does) until a time budget is spent;
we report the median. PyTorch runs through its ATen kernels directly (no autograd tape), so
the comparison is kernel against kernel.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import kernels

try:  # optional: lets NumPy's BLAS use the same thread count as ours
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None


@dataclass
class Case:
    kernel: str
    shape: str
    flops: float | None                       # None for memory-bound kernels
    make: Callable[[np.random.Generator], tuple]
    ours: Callable[..., object]               # runs through dlcore.kernels (any backend)
    torch: Callable[..., Callable[[], object]] | None = None   # inputs -> zero-arg runner


def _gemm_case(m, k, n, label=None):
    return Case(
        "gemm", label or f"{m}x{k} · {k}x{n}", 2.0 * m * n * k,
        lambda rng: (rng.standard_normal((m, k), np.float32),
                     rng.standard_normal((k, n), np.float32)),
        lambda a, b: kernels.gemm(a, b),
        lambda torch, a, b: (lambda ta=torch.from_numpy(a), tb=torch.from_numpy(b):
                             lambda: torch.mm(ta, tb))(),
    )


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
        *(_gemm_case(s, s, s) for s in sizes),
        _gemm_case(64, 784, 256, "MLP 64x784 · 784x256"),
        _gemm_case(256, 256, 10, "MLP 256x256 · 256x10"),
        _conv_case("LeNet 64x1x28x28 1→6 5x5 p2", 64, 1, 28, 6, 5, 2),
        _conv_case("LeNet 64x6x14x14 6→16 5x5", 64, 6, 14, 16, 5, 0),
        _conv_case("ResNet 32x64x32x32 3x3 p1", 32, 64, 32, 64, 3, 1),
        _pool_case("max", 64, 6, 28), _pool_case("max", 32, 64, 32),
        _pool_case("avg", 64, 6, 28), _pool_case("avg", 32, 64, 32),
        _xent_case(256, 10), _xent_case(4096, 1000),
    ]


# Idle threads of the backend timed before keep spinning for a while (OpenBLAS's for ~0.1 s):
# on a 2-core machine they would take a core from the next backend's second thread (a 256³
# product took 8x longer). Each backend is timed only after they have gone to sleep.
SETTLE_SECONDS = 0.2


def median_time(fn: Callable[[], object], budget: float, min_reps: int = 3,
                max_reps: int = 200) -> float:
    """Median wall time of fn() over repetitions filling `budget` seconds (after a warm-up)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or
                                     time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(cases: list[Case], threads: int, budget: float = 0.5, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> list[dict]:
    """Time every case on every backend with `threads` threads; one record per measurement."""
    torch = _torch()
    kernels.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    limit = threadpool_limits(threads) if threadpool_limits else None
    records = []
    try:
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
            for backend, fn in runners.items():
                time.sleep(SETTLE_SECONDS)
                median = median_time(fn, budget)
                records.append({
                    "kernel": case.kernel, "shape": case.shape, "backend": backend,
                    "threads": threads, "median_s": median,
                    "gflops": case.flops / median * 1e-9 if case.flops else None,
                })
    finally:
        if limit is not None:
            limit.unregister()
    return records


def peak_gflops(threads: int) -> float | None:
    """The machine's FMA peak for `threads` threads: one thread measured, times `threads`."""
    c = kernels._c
    return c.peak_gflops(seconds=0.3) * threads if c is not None else None
