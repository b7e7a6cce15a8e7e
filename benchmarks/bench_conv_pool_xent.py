"""Median times of the conv2d, pooling and softmax cross-entropy kernels: ours (C) against
PyTorch (CPU, NCHW) and the NumPy reference, at 1 and 2 threads.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv_pool_xent.py

Each case times forward + backward (cross-entropy: loss + gradient) as one step; PyTorch runs
the aten kernels directly (as `dl bench` does), without autograd's bookkeeping. The machine is
shared, so the implementations alternate step by step and each time is the median. The floors
(issue 3): conv >= 1.0x PyTorch, pooling >= 2x PyTorch, cross-entropy >= 2x NumPy.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from dlcore.kernels import _c as C
from dlcore.kernels import reference as R

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

CONVS = {  # name: (x shape, w shape, padding)
    "lenet conv1 64x1x28x28 5x5 p2": ((64, 1, 28, 28), (6, 1, 5, 5), 2),
    "lenet conv2 64x6x14x14 5x5": ((64, 6, 14, 14), (16, 6, 5, 5), 0),
    "resnet 32x64x32x32 3x3 p1": ((32, 64, 32, 32), (64, 64, 3, 3), 1),
}
POOLS = {"64x6x28x28": (64, 6, 28, 28), "32x64x32x32": (32, 64, 32, 32)}
XENTS = {"256x10": (256, 10), "4096x1000": (4096, 1000)}


def median_times(steps, repeats):
    """Median wall time of each step (None skipped), the steps run in turn `repeats` times."""
    live = [s for s in steps if s is not None]
    for step in live:
        step()
    times = [[] for _ in live]
    for _ in range(repeats):
        for step, ts in zip(live, times):
            t0 = time.perf_counter()
            step()
            ts.append(time.perf_counter() - t0)
    medians = iter(float(np.median(ts)) for ts in times)
    return [next(medians) if s is not None else float("nan") for s in steps]


def conv_steps(x_shape, w_shape, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    padding = (pad,) * 4
    dy = np.ones_like(C.conv2d_forward(x, w, b, padding=padding))

    def ours():
        C.conv2d_forward(x, w, b, padding=padding)
        C.conv2d_backward(x, w, dy, padding=padding)

    def theirs():
        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))
        conv = dict(stride=[1, 1], padding=[pad, pad], dilation=[1, 1], transposed=False,
                    output_padding=[0, 0], groups=1)
        torch.ops.aten.convolution(tx, tw, tb, **conv)
        torch.ops.aten.convolution_backward(tdy, tx, tw, [w_shape[0]], **conv,
                                            output_mask=[True, True, True])

    return ours, theirs, None


def pool_steps(shape, kind):
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    dy = np.ones((shape[0], shape[1], shape[2] // 2, shape[3] // 2), np.float32)
    aten = torch.ops.aten if torch is not None else None

    def ours():
        if kind == "max":
            _, idx = C.max_pool2d_forward(x, 2, 2)
            C.max_pool2d_backward(dy, idx, x.shape)
        else:
            C.avg_pool2d_forward(x, 2, 2)
            C.avg_pool2d_backward(dy, x.shape, 2, 2)

    def theirs():
        tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
        if kind == "max":
            _, idx = aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
            aten.max_pool2d_with_indices_backward(tdy, tx, [2, 2], [2, 2], [0, 0], [1, 1],
                                                  False, idx)
        else:
            aten.avg_pool2d(tx, [2, 2], [2, 2])
            aten.avg_pool2d_backward(tdy, tx, [2, 2], [2, 2], [0, 0], False, True, None)

    return ours, theirs, None


def xent_steps(shape):
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape, dtype=np.float32)
    t = rng.integers(0, shape[1], shape[0])

    def theirs():
        zt = torch.from_numpy(z).requires_grad_()
        F.cross_entropy(zt, torch.from_numpy(t)).backward()

    return (lambda: C.softmax_cross_entropy(z, t), theirs,
            lambda: R.softmax_cross_entropy(z, t))


def cases():
    for name, (xs, ws, pad) in CONVS.items():
        yield f"conv2d {name}", conv_steps(xs, ws, pad)
    for kind in ("max", "avg"):
        for name, shape in POOLS.items():
            yield f"{kind}_pool2d 2x2 {name}", pool_steps(shape, kind)
    for name, shape in XENTS.items():
        yield f"softmax_xent {name}", xent_steps(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{'kernel':44s} {'thr':>3s} {'ours ms':>9s} {'torch ms':>9s} {'numpy ms':>9s} "
          f"{'vs torch':>8s} {'vs numpy':>8s}")
    for threads in args.threads:
        C.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        for name, (ours, theirs, numpy_ref) in cases():
            t_ours, t_torch, t_np = median_times(
                [ours, theirs if torch is not None else None, numpy_ref], args.repeats)
            print(f"{name:44s} {threads:3d} {1e3 * t_ours:9.3f} {1e3 * t_torch:9.3f} "
                  f"{1e3 * t_np:9.3f} {t_torch / t_ours:7.2f}x {t_np / t_ours:7.2f}x")


if __name__ == "__main__":
    main()
