"""The backend switch, thread control and CPU-path control of dlcore.kernels."""
import os
import subprocess
import sys

import numpy as np
import pytest

import dlcore
from dlcore import kernels
from dlcore.kernels import _c, reference


def test_the_c_backend_is_built_and_is_the_default():
    assert _c is not None, "the C extension did not import"
    assert kernels.get_backend() == "c"


def test_use_backend_switches_and_restores():
    with kernels.use_backend("numpy"):
        assert kernels.get_backend() == "numpy"
        with kernels.use_backend("c"):
            assert kernels.get_backend() == "c"
        assert kernels.get_backend() == "numpy"
    assert kernels.get_backend() == "c"


@pytest.mark.parametrize("y_of", [lambda y: np.ascontiguousarray(y.T).T,
                                  lambda y: y.astype(np.float64)],
                         ids=["transposed", "float64"])
def test_the_dispatcher_sends_what_c_cannot_take_to_the_reference(y_of):
    """An optimizer's in-place update of a transposed or float64 parameter by a float32 step
    still works through `kernels.axpby`: the dispatcher, not the caller, picks the backend."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = y_of(rng.standard_normal((3, 4)).astype(np.float32))
    expected = 2.0 * x + 0.5 * y
    assert kernels.axpby(x, y, 2.0, 0.5) is y
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="C-contiguous"):          # what C alone would say
        _c.axpby(x, np.zeros((4, 3), np.float32).T)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown kernel backend 'cuda'"):
        kernels.use_backend("cuda")


def test_float64_always_runs_on_the_reference():
    a = np.random.default_rng(0).standard_normal((3, 4))
    out = kernels.gemm(a, a.T.copy())
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a @ a.T)


def test_backends_expose_the_same_kernels():
    for name in kernels.KERNELS:
        assert callable(getattr(reference, name)) and callable(getattr(_c, name)), name


def test_thread_count_is_settable_and_validated():
    before = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        assert dlcore.get_num_threads() == 1
        for bad in (0, -2, 1.5, "2"):
            with pytest.raises(ValueError, match="number of threads must be a positive int"):
                dlcore.set_num_threads(bad)
    finally:
        dlcore.set_num_threads(before)


def _run(code, **env):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    return out.stdout.strip()


def test_environment_variables_choose_threads_and_cpu_path():
    code = "from dlcore import kernels; print(kernels.get_num_threads(), kernels.cpu_path())"
    assert _run(code, DL_NUM_THREADS="3", DL_CPU="generic") == "3 generic"


@pytest.mark.parametrize("env, message", [
    (dict(DL_NUM_THREADS="0"), "DL_NUM_THREADS must be a positive int, got 0"),
    (dict(DL_NUM_THREADS="two"), "DL_NUM_THREADS must be a positive int, got 'two'"),
    (dict(DL_CPU="avx9"), "DL_CPU must be one of 'generic', 'avx2', 'avx512', got 'avx9'"),
])
def test_a_bad_environment_variable_is_an_error_at_first_use_not_ignored(env, message):
    """Importing still works (so `dl --help` does); the first kernel call or query raises."""
    code = ("import numpy as np\nfrom dlcore import kernels\n"
            "for call in (kernels.get_num_threads, kernels.cpu_path,\n"
            "             lambda: kernels.relu_forward(np.ones(3, np.float32))):\n"
            "    try:\n        call()\n    except ValueError as e:\n        print(e)\n")
    lines = _run(code, **env).splitlines()
    assert len(lines) == 3 and all(line.startswith(message) for line in lines), lines


def test_forcing_a_cpu_path_is_clamped_to_what_the_cpu_has():
    order = ["generic", "avx2", "avx512"]
    before = _c.cpu_path()
    try:
        for name in order:
            got = _c.set_cpu_path(name)
            assert order.index(got) == min(order.index(name), order.index(_c.cpu_best()))
        with pytest.raises(ValueError, match="unknown CPU path"):
            _c.set_cpu_path("sse9")
    finally:
        _c.set_cpu_path(before)


def test_peak_measurement_is_positive():
    assert _c.peak_gflops(seconds=0.01) > 0
