# Elementwise bindings: ReLU, leaky ReLU, add+ReLU, GELU, axpby (included by _c.pyx).

def relu_forward(x):
    x = _f32("x", x, -1)
    y = np.empty_like(x)
    cdef int64_t n = x.size
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_relu_forward(n, px, py)
    _check(code, "relu_forward")
    return y


def relu_backward(y, dy):
    y = _f32("y", y, -1)
    dy = _f32("dy", dy, -1)
    if y.shape != dy.shape:
        raise ValueError(f"relu_backward: y {y.shape} and dy {dy.shape} differ in shape")
    dx = np.empty_like(dy)
    cdef int64_t n = y.size
    cdef const float *py = _fptr(y)
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx)
    cdef int code
    with nogil:
        code = dl_relu_backward(n, py, pdy, pdx)
    _check(code, "relu_backward")
    return dx


def leaky_relu_forward(x, negative_slope):
    x = _f32("x", x, -1)
    y = np.empty_like(x)
    cdef int64_t n = x.size
    cdef float slope = negative_slope
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_leaky_relu_forward(n, px, slope, py)
    _check(code, "leaky_relu_forward")
    return y


def leaky_relu_backward(x, dy, negative_slope):
    x = _f32("x", x, -1)
    dy = _f32("dy", dy, -1)
    if x.shape != dy.shape:
        raise ValueError(f"leaky_relu_backward: x {x.shape} and dy {dy.shape} differ in shape")
    dx = np.empty_like(dy)
    cdef int64_t n = x.size
    cdef float slope = negative_slope
    cdef const float *px = _fptr(x)
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx)
    cdef int code
    with nogil:
        code = dl_leaky_relu_backward(n, px, pdy, slope, pdx)
    _check(code, "leaky_relu_backward")
    return dx


def add_relu_forward(a, b):
    a = _f32("a", a, -1)
    b = _f32("b", b, -1)
    if a.shape != b.shape:
        raise ValueError(f"add_relu_forward: a {a.shape} and b {b.shape} differ in shape")
    y = np.empty_like(a)
    cdef int64_t n = a.size
    cdef const float *pa = _fptr(a)
    cdef const float *pb = _fptr(b)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_add_relu_forward(n, pa, pb, py)
    _check(code, "add_relu_forward")
    return y


def axpby(x, y, float alpha=1.0, float beta=1.0):
    y = _out_f32("y", y, getattr(y, "shape", None))
    x = _f32("x", x, -1)
    if x.shape != y.shape:
        raise ValueError(f"axpby: x {x.shape} and y {y.shape} differ in shape")
    if np.may_share_memory(x, y):
        raise ValueError(f"axpby: x and y (shape {y.shape}) overlap in memory")
    cdef int64_t n = y.size
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_axpby(n, alpha, px, beta, py)
    _check(code, "axpby")
    return y


def gelu_forward(x):
    x = _f32("x", x, -1)
    y = np.empty_like(x)
    slope = np.empty_like(x)
    cdef int64_t n = x.size
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef float *ps = _wptr(slope)
    cdef int code
    with nogil:
        code = dl_gelu_forward(n, px, py, ps)
    _check(code, "gelu_forward")
    return y, slope
