# Pooling bindings (included by _c.pyx).

cdef dl_pool2d_t _pool_geometry(x_shape, kernel_size, stride, padding) except *:
    """The C view of a window checked by `contract`; C checks it again before any access."""
    g = contract.pool2d(x_shape, kernel_size, stride, padding)
    cdef dl_pool2d_t p
    p.n, p.c, p.h, p.w, p.kh, p.kw = g.n, g.c, g.h, g.w, g.kh, g.kw
    p.sh, p.sw = g.stride
    p.ph, p.pw = g.padding
    if dl_pool2d_check(&p) != DL_OK or (p.oh, p.ow) != (g.oh, g.ow):
        raise RuntimeError(f"pool2d: the C kernel disagrees with the checked geometry {g}")
    return p


def max_pool2d_forward(x, kernel_size, stride=None, padding=(0, 0)):
    x = _f32("x", x, 4)
    cdef dl_pool2d_t p = _pool_geometry(x.shape, kernel_size, stride, padding)
    y = np.empty((p.n, p.c, p.oh, p.ow), dtype=np.float32)
    idx = np.empty((p.n, p.c, p.oh, p.ow), dtype=np.int64)
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int64_t *pi = <int64_t *>cnp.PyArray_DATA(idx)
    cdef int code
    with nogil:
        code = dl_maxpool2d_forward(&p, px, py, pi)
    _check(code, "max_pool2d_forward")
    return y, idx


def max_pool2d_backward(dy, indices, x_shape):
    dy = _f32("dy", dy, 4)
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4 or dy.shape[:2] != x_shape[:2]:
        raise ValueError(f"max_pool2d_backward: dy {dy.shape} does not match x_shape {x_shape}")
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64 \
            or indices.shape != dy.shape:
        raise TypeError(f"max_pool2d_backward: indices must be int64 of dy's shape {dy.shape}")
    indices = np.ascontiguousarray(indices)
    # The window geometry only matters for validation of idx; give C a 1x1 pool that maps
    # the output plane onto the input plane so it can bound-check every index.
    cdef dl_pool2d_t p
    p.n, p.c, p.h, p.w = x_shape
    p.oh, p.ow = dy.shape[2], dy.shape[3]
    p.kh = p.kw = p.sh = p.sw = 1
    p.ph = p.pw = 0
    dx = np.empty(x_shape, dtype=np.float32)
    cdef const float *pdy = _fptr(dy)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(indices)
    cdef float *pdx = _wptr(dx)
    cdef int code
    with nogil:
        code = dl_maxpool2d_backward(&p, pdy, pi, pdx)
    if code == DL_EINVAL:
        raise ValueError(f"max_pool2d_backward: an index lies outside the input plane "
                         f"{x_shape[2:]}")
    _check(code, "max_pool2d_backward")
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None, padding=(0, 0), count_include_pad=True):
    x = _f32("x", x, 4)
    cdef dl_pool2d_t p = _pool_geometry(x.shape, kernel_size, stride, padding)
    y = np.empty((p.n, p.c, p.oh, p.ow), dtype=np.float32)
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int cip = bool(count_include_pad), code
    with nogil:
        code = dl_avgpool2d_forward(&p, cip, px, py)
    _check(code, "avg_pool2d_forward")
    return y


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=(0, 0),
                        count_include_pad=True):
    dy = _f32("dy", dy, 4)
    x_shape = tuple(int(v) for v in x_shape)
    cdef dl_pool2d_t p = _pool_geometry(x_shape, kernel_size, stride, padding)
    if dy.shape != (p.n, p.c, p.oh, p.ow):
        raise ValueError(f"avg_pool2d_backward: dy must be {(p.n, p.c, p.oh, p.ow)}, "
                         f"got shape {dy.shape}")
    dx = np.empty(x_shape, dtype=np.float32)
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx)
    cdef int cip = bool(count_include_pad), code
    with nogil:
        code = dl_avgpool2d_backward(&p, cip, pdy, pdx)
    _check(code, "avg_pool2d_backward")
    return dx


def global_avg_pool2d_forward(x):
    x = _f32("x", x, 4)
    n, c, h, w = x.shape
    if n * c * h * w == 0:
        raise ValueError(f"global_avg_pool2d: empty input of shape {x.shape}")
    y = np.empty((n, c), dtype=np.float32)
    cdef int64_t nc = n * c, hw = h * w
    cdef const float *px = _fptr(x)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_global_avgpool2d_forward(nc, hw, px, py)
    _check(code, "global_avg_pool2d_forward")
    return y


def global_avg_pool2d_backward(dy, x_shape):
    dy = _f32("dy", dy, 2)
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4 or dy.shape != x_shape[:2] or 0 in x_shape:
        raise ValueError(f"global_avg_pool2d_backward: dy {dy.shape} does not match "
                         f"x_shape {x_shape}")
    dx = np.empty(x_shape, dtype=np.float32)
    cdef int64_t nc = x_shape[0] * x_shape[1], hw = x_shape[2] * x_shape[3]
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx)
    cdef int code
    with nogil:
        code = dl_global_avgpool2d_backward(nc, hw, pdy, pdx)
    _check(code, "global_avg_pool2d_backward")
    return dx
