# cython: language_level=3, boundscheck=False, wraparound=False
"""The C kernels (csrc/), validated before C touches memory: the arguments by `contract` (the
checks the NumPy reference makes too), every array's dtype, shape and contiguity here, each
error naming the argument. The GIL is released around C."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from dlcore.kernels import contract

cnp.import_array()

cdef extern from "dl_kernels.h" nogil:
    int DL_OK, DL_EINVAL, DL_ENOMEM
    int DL_CPU_GENERIC, DL_CPU_AVX2, DL_CPU_AVX512
    int DL_REDUCE_NONE, DL_REDUCE_MEAN, DL_REDUCE_SUM

    int dl_cpu_best()
    int dl_cpu_path()
    int dl_cpu_set_path(int path)
    const char *dl_cpu_path_name(int path)
    int dl_openmp()
    const char *dl_compiler()
    const char *dl_cpu_features()
    int dl_num_threads()
    void dl_set_num_threads(int n)
    double dl_peak_gflops(int path, double seconds)

    int dl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                 float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float beta, float *c, int64_t ldc)

    ctypedef struct dl_conv2d_t:
        int64_t n, c, h, w, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups, oh, ow
    int dl_conv2d_check(dl_conv2d_t *p)
    int dl_im2col(const dl_conv2d_t *p, const float *x_img, int64_t c0, int64_t cg, float *cols)
    int dl_col2im(const dl_conv2d_t *p, const float *cols, int64_t c0, int64_t cg, float *x_img)
    int dl_conv2d_forward(const dl_conv2d_t *p, const float *x, const float *w,
                          const float *bias, float *y)
    int dl_conv2d_backward(const dl_conv2d_t *p, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db)
    int64_t dl_conv_views_min_pixels(int64_t pixels)
    int dl_conv_winograd(int mode)

    ctypedef struct dl_pool2d_t:
        int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow
    int dl_pool2d_check(dl_pool2d_t *p)
    int dl_maxpool2d_forward(const dl_pool2d_t *p, const float *x, float *y, int64_t *idx)
    int dl_maxpool2d_backward(const dl_pool2d_t *p, const float *dy, const int64_t *idx,
                              float *dx)
    int dl_avgpool2d_forward(const dl_pool2d_t *p, int count_include_pad, const float *x,
                             float *y)
    int dl_avgpool2d_backward(const dl_pool2d_t *p, int count_include_pad, const float *dy,
                              float *dx)
    int dl_global_avgpool2d_forward(int64_t nc, int64_t hw, const float *x, float *y)
    int dl_global_avgpool2d_backward(int64_t nc, int64_t hw, const float *dy, float *dx)

    int dl_batchnorm_forward(int64_t n, int64_t c, int64_t s, const float *x,
                             const float *weight, const float *bias, double eps, int training,
                             float *mean, float *var, float *inv_std, float *y)
    int dl_batchnorm_backward(int64_t n, int64_t c, int64_t s, const float *x, const float *dy,
                              const float *mean, const float *inv_std, const float *weight,
                              int training, float *dx, float *dweight, float *dbias)

    int dl_relu_forward(int64_t n, const float *x, float *y)
    int dl_relu_backward(int64_t n, const float *y, const float *dy, float *dx)
    int dl_leaky_relu_forward(int64_t n, const float *x, float slope, float *y)
    int dl_leaky_relu_backward(int64_t n, const float *x, const float *dy, float slope,
                               float *dx)
    int dl_add_relu_forward(int64_t n, const float *a, const float *b, float *y)
    int dl_gelu_forward(int64_t n, const float *x, float *y, float *slope)
    int dl_axpby(int64_t n, float alpha, const float *x, float beta, float *y)

    int dl_lstm_cell_forward(int64_t n, int64_t h, float *gates, const float *c_prev,
                             float *c, float *h_out)
    int dl_lstm_cell_backward(int64_t n, int64_t h, const float *gates, const float *c_prev,
                              const float *c, const float *dh, float *dc, float *dgates)
    int dl_gru_cell_forward(int64_t n, int64_t h, const float *gx, const float *gh,
                            const float *h_prev, float *gates, float *h_out)
    int dl_gru_cell_backward(int64_t n, int64_t h, const float *gates, const float *gh,
                             const float *h_prev, const float *dh, float *dgx, float *dgh,
                             float *dh_prev)

    int dl_softmax_xent(int64_t n, int64_t c, const float *logits, const int64_t *target,
                        int64_t ignore_index, float label_smoothing, int reduction,
                        float *loss, float *dlogits)

# ---- validation ------------------------------------------------------------------------

cdef _f32(name, x, int ndim):
    """x as a C-contiguous float32 array of `ndim` dims (a copy only if not contiguous; not
    np.ascontiguousarray on a 0-d array, which would make it 1-d)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"{name} must be float32 for the C backend, got {x.dtype} "
                        f"(shape {x.shape}); use the 'numpy' backend for other dtypes")
    if ndim >= 0 and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


cdef _out_f32(name, x, shape):
    """An output array the caller gave: must already be float32, C-contiguous, of `shape`."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        raise TypeError(f"{name} must be a float32 numpy.ndarray")
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {x.shape}")
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError(f"{name} must be C-contiguous and writeable (shape {x.shape})")
    return x


cdef _check(int code, what):
    if code == DL_ENOMEM:
        raise MemoryError(f"{what}: out of memory for the kernel's work buffers")
    if code != DL_OK:
        raise ValueError(f"{what}: the C kernel rejected its arguments (code {code})")


cdef const float *_fptr(cnp.ndarray a):
    return <const float *>cnp.PyArray_DATA(a)


cdef float *_wptr(cnp.ndarray a):
    return <float *>cnp.PyArray_DATA(a)

# ---- machine ---------------------------------------------------------------------------

PATHS = {"generic": DL_CPU_GENERIC, "avx2": DL_CPU_AVX2, "avx512": DL_CPU_AVX512}


def cpu_path():
    """The SIMD path in use: 'generic', 'avx2' or 'avx512'."""
    return dl_cpu_path_name(dl_cpu_path()).decode()


def cpu_best():
    """The best SIMD path this CPU supports."""
    return dl_cpu_path_name(dl_cpu_best()).decode()


def set_cpu_path(name):
    """Force a SIMD path (clamped to what the CPU has); returns the path now in use."""
    if name not in PATHS:
        raise ValueError(f"unknown CPU path {name!r}; choose from {sorted(PATHS)}")
    return dl_cpu_path_name(dl_cpu_set_path(PATHS[name])).decode()


def openmp():
    """True when the kernels were built with OpenMP (else they run on one thread)."""
    return bool(dl_openmp())


def compiler():
    return dl_compiler().decode()


def cpu_features():
    """SIMD features the CPU reports, e.g. ['sse4.2', 'avx', 'fma', 'avx2']."""
    return dl_cpu_features().decode().split()


def get_num_threads():
    return dl_num_threads()


def set_num_threads(int n):
    if n < 1:
        raise ValueError(f"number of threads must be >= 1, got {n}")
    dl_set_num_threads(n)


def conv_views_min_pixels(pixels=None):
    """Output pixels per plane from which stride-1 convolutions use shifted views instead of
    im2col columns; sets it when given (for tests: 0 reaches the view paths on any shape) and
    returns the value before."""
    if pixels is not None and pixels < 0:
        raise ValueError(f"conv_views_min_pixels must be >= 0, got {pixels}")
    return dl_conv_views_min_pixels(-1 if pixels is None else pixels)


WINOGRAD_MODES = ("never", "auto", "always")


def conv_winograd(mode=None):
    """When 3x3 stride-1 undilated convolutions run by Winograd's F(2x2, 3x3): "never",
    "auto" (where measured faster; the default) or "always" (for tests); sets the mode when
    given and returns the mode before."""
    if mode is not None and mode not in WINOGRAD_MODES:
        raise ValueError(f"conv_winograd mode must be one of {', '.join(WINOGRAD_MODES)}, "
                         f"got {mode!r}")
    return WINOGRAD_MODES[dl_conv_winograd(-1 if mode is None else WINOGRAD_MODES.index(mode))]


def peak_gflops(path=None, double seconds=0.2):
    """One thread's measured FMA peak (GFLOP/s) on `path` (default: the path in use)."""
    cdef int p = dl_cpu_path() if path is None else PATHS[path]
    cdef double r
    with nogil:
        r = dl_peak_gflops(p, seconds)
    return r

include "_gemm.pxi"
include "_conv.pxi"
include "_pool.pxi"
include "_batchnorm.pxi"
include "_xent.pxi"
include "_elementwise.pxi"
include "_recurrent.pxi"
