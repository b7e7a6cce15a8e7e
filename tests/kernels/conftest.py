"""Fixtures shared by the kernel tests: run on each SIMD path, set the thread count."""
import pytest

_c = pytest.importorskip("dlcore.kernels._c")


@pytest.fixture(params=["generic", "avx2", "avx512"])
def cpu_path(request):
    """Runs the test on one SIMD path (skipped when this CPU lacks it), then restores it."""
    previous = _c.cpu_path()
    if _c.set_cpu_path(request.param) != request.param:
        _c.set_cpu_path(previous)
        pytest.skip(f"this CPU has no {request.param} path")
    yield request.param
    _c.set_cpu_path(previous)


@pytest.fixture
def threads():
    """``threads(n)`` sets the kernels' thread count for the rest of the test; restored after."""
    previous = _c.get_num_threads()
    yield _c.set_num_threads
    _c.set_num_threads(previous)
