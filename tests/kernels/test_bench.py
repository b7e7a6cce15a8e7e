"""The timing loop every benchmark shares: sides take turns, each gets its calls, medians out."""
import numpy as np

from dlcore.kernels import bench


def test_interleaved_medians_alternates_the_sides_and_gives_each_its_calls(monkeypatch):
    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    order = []
    runners = {name: (lambda name=name: order.append(name)) for name in ("ours", "theirs")}
    medians = bench.interleaved_medians(runners, budget=0.0, rounds=3, min_calls=6)
    assert set(medians) == {"ours", "theirs"} and all(m >= 0 for m in medians.values())
    assert order[:2] == ["ours", "theirs"]                       # one warm-up call each
    turns = [name for i, name in enumerate(order[2:]) if i % 2 == 0]
    assert turns == ["ours", "theirs"] * 3                       # 3 rounds of 2 calls per turn
    assert order.count("ours") == order.count("theirs") == 1 + 6


def test_same_threads_limits_numpy_blas_and_restores_it():
    before = bench.blas_threads()
    with bench.same_threads(1) as blas:
        assert all(part.endswith(" 1") for part in blas.split(", ")), blas
        np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
    assert bench.blas_threads() == before


def test_a_gemm_case_with_transposed_operands_agrees_with_numpy():
    case = bench.gemm_case(5, 7, 3, trans_a=True, trans_b=True)
    a, b, c = case.make(np.random.default_rng(0))
    case.ours(a, b, c)
    np.testing.assert_allclose(c, a.T @ b.T, rtol=1e-5)
